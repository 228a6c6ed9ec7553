import { Command } from 'commander'
import { Config, createRedis, Pool } from '@plugin-server/core'
import { DeliveryQueue, exportStatus, replayDeadLetters } from '@plugin-server/export'
import type { ReplayResult } from '@plugin-server/export'
import { fail, printJson, reachableRedis, withPool } from '../cli-context'
import { nameConnectionVariable } from '../connection-errors'
import { printError } from '../output'
import { registerExportHistorical } from './export-historical'
import { positiveInt } from './option-parsers'
import { parseTime } from './parse-time'

/** `plugin-server export replay|historical|status`: dead letters, historical exports (export-historical.ts), delivery status. */
export function registerExport(program: Command): void {
  const exp = program.command('export').description('exporter operations: replay dead letters, historical export, delivery status')

  exp
    .command('replay')
    .argument('<configId>', 'plugin config id', positiveInt('configId'))
    .option('--since <time>', 'only dead letters created at or after this time (ISO 8601, or relative: 30m, 2h, 7d)', parseTime)
    .description(
      "hand the config's dead letters back to the exporters, with a new retry budget, oldest first within half of each pending-event limit, 1 000 at a time until none is left",
    )
    .action((configId: number, options: { since?: Date }) =>
      withExport(async ({ pool, deliveries, config }) =>
        printJson(await replayAll(() => replayDeadLetters(pool, deliveries, configId, config.export, options))),
      ),
    )

  registerExportHistorical(exp)

  exp
    .command('status')
    .argument('<configId>', 'plugin config id', positiveInt('configId'))
    .description('export metrics, buffer, pending batches, retries in flight, dead letters and historical runs of a config')
    .action((configId: number) => withExport(async ({ pool, redis, config }) => printJson(await exportStatus(pool, redis, config.queuePrefix, configId))))
}

async function withExport(
  fn: (deps: { pool: Pool; redis: ReturnType<typeof createRedis>; deliveries: DeliveryQueue; config: Config }) => Promise<void>,
): Promise<void> {
  await withPool(async (pool, config) => {
    const redis = await reachableRedis(config, 'cli-export')
    const deliveries = new DeliveryQueue(redis, config.queuePrefix)
    try {
      await fn({ pool, redis, deliveries, config })
    } catch (err) {
      fail((nameConnectionVariable(err, config) as Error).message)
    } finally {
      await deliveries.close()
      redis.disconnect()
    }
  })
}

/**
 * One replay hands back at most 1 000 letters (MAX_REPLAYED_PER_REQUEST): asks again until none is
 * left, or until a limit holds the rest back (asking again at once would find no more room).
 */
async function replayAll(replay: () => Promise<ReplayResult>): Promise<ReplayResult> {
  let total: ReplayResult | null = null
  for (;;) {
    const step = await replay()
    total = total
      ? {
          ...step,
          replayed: total.replayed + step.replayed,
          events: total.events + step.events,
          deadLetterIds: [...total.deadLetterIds, ...step.deadLetterIds],
        }
      : step
    if (step.remaining === 0 || step.heldBack !== null || step.replayed === 0) return total
    printError(`plugin-server: ${total.replayed} dead letters replayed, ${step.remaining} left`)
  }
}
