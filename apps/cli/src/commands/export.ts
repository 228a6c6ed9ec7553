import { Command, InvalidArgumentError } from 'commander'
import { Config, createRedis, Pool } from '@plugin-server/core'
import { DeliveryQueue, exportStatus, HistoricalProgress, exportSettings, replayDeadLetters, runHistoricalExport } from '@plugin-server/export'
import { cliLogger, fail, printJson, withPool } from '../cli-context'
import { positiveInt } from './option-parsers'

/** `plugin-server export replay|historical|status`: dead letters, historical exports, delivery status. */
export function registerExport(program: Command): void {
  const exp = program.command('export').description('exporter operations: replay dead letters, historical export, delivery status')

  exp
    .command('replay')
    .argument('<configId>', 'plugin config id', positiveInt('configId'))
    .option('--since <time>', 'only dead letters created at or after this time (ISO 8601, or relative: 30m, 2h, 7d)', parseTime)
    .description("hand the config's dead letters back to the exporters, with a new retry budget")
    .action((configId: number, options: { since?: Date }) =>
      withExport(async ({ pool, deliveries }) => printJson(await replayDeadLetters(pool, deliveries, configId, { since: options.since }))),
    )

  exp
    .command('historical')
    .argument('<configId>', 'plugin config id', positiveInt('configId'))
    .requiredOption('--from <time>', 'first event timestamp (inclusive)', parseTime)
    .requiredOption('--to <time>', 'last event timestamp (exclusive)', parseTime)
    .option('--batch-size <n>', 'events per exportEvents batch', positiveInt('--batch-size'), 500)
    .option('--max-in-flight <n>', 'batches handed to the exporters and not finished yet, at most', positiveInt('--max-in-flight'), 4)
    .description("stream stored events through the config's exportEvents (run by the exporters); run again to resume")
    .action((configId: number, options: { from: Date; to: Date; batchSize: number; maxInFlight: number }) =>
      withExport(async ({ pool, redis, deliveries, config }) => {
        if (options.from >= options.to) fail('--from must be before --to')
        let lastPrinted = 0
        const result = await runHistoricalExport(pool, redis, config.queuePrefix, deliveries, configId, {
          from: options.from,
          to: options.to,
          batchSize: options.batchSize,
          maxInFlight: options.maxInFlight,
          settings: exportSettings(config),
          onStart: (run, resumed) =>
            process.stderr.write(
              `${resumed ? 'resuming' : 'starting'} historical export run ${run.id}: ${run.enqueuedEvents}/${run.totalEvents} events handed over so far\n`,
            ),
          onProgress: (p) => {
            if (Date.now() - lastPrinted < 1000 && p.done < p.total) return
            lastPrinted = Date.now()
            process.stderr.write(`${progressLine(p)}\n`)
          },
        })
        process.stderr.write(`${progressLine(result)}\n`)
        printJson(result)
      }),
    )

  exp
    .command('status')
    .argument('<configId>', 'plugin config id', positiveInt('configId'))
    .description('export metrics, buffer, pending batches, retries in flight, dead letters and historical runs of a config')
    .action((configId: number) => withExport(async ({ pool, redis, config }) => printJson(await exportStatus(pool, redis, config.queuePrefix, configId))))
}

function progressLine(p: HistoricalProgress): string {
  const pct = p.total > 0 ? Math.floor((p.done / p.total) * 100) : 100
  const eta = p.etaSeconds === null ? '?' : `${Math.ceil(p.etaSeconds)} s`
  return `run ${p.runId}: ${p.done}/${p.total} events exported (${pct}%), ${p.enqueued} handed over, ${Math.round(p.rate)} events/s, ETA ${eta}`
}

async function withExport(
  fn: (deps: { pool: Pool; redis: ReturnType<typeof createRedis>; deliveries: DeliveryQueue; config: Config }) => Promise<void>,
): Promise<void> {
  await withPool(async (pool, config) => {
    const redis = createRedis(config.redisUrl, cliLogger(config), 'cli-export')
    const deliveries = new DeliveryQueue(redis, config.queuePrefix)
    try {
      await fn({ pool, redis, deliveries, config })
    } catch (err) {
      fail((err as Error).message)
    } finally {
      await deliveries.close()
      redis.disconnect()
    }
  })
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

function parseTime(value: string): Date {
  const relative = /^(\d+)([smhd])$/.exec(value.trim())
  if (relative) return new Date(Date.now() - Number(relative[1]) * UNITS[relative[2]])
  const ms = Date.parse(value)
  if (Number.isNaN(ms)) throw new InvalidArgumentError('expected an ISO 8601 time (2024-05-01T00:00:00Z) or a relative one (30m, 2h, 7d)')
  return new Date(ms)
}
