import { Command } from 'commander'
import { Config, createRedis, Pool } from '@plugin-server/core'
import {
  cancelHistoricalExport,
  getHistoricalProgress,
  HistoricalQueue,
  HistoricalRunOverlap,
  HistoricalRunProgress,
  startHistoricalExport,
} from '@plugin-server/export'
import { fail, printJson, reachableRedis, withPool } from '../cli-context'
import { nameConnectionVariable } from '../connection-errors'
import { positiveInt } from './option-parsers'
import { parseTime } from './parse-time'

interface Deps {
  pool: Pool
  redis: ReturnType<typeof createRedis>
  queue: HistoricalQueue
  config: Config
}

/**
 * `plugin-server export historical <configId> --from --to` enqueues a run (or joins the unfinished
 * one of the same range) that the exporters execute, and follows its progress; `status` and
 * `cancel` take a run id. Stopping the command stops following, never the run.
 */
export function registerExportHistorical(exp: Command): void {
  const historical = exp
    .command('historical')
    .argument('<configId>', 'plugin config id', positiveInt('configId'))
    // Checked in the action: commander would ask the subcommands (status, cancel) for a parent's required options too.
    .option('--from <time>', 'first event timestamp, inclusive (required)', parseTime)
    .option('--to <time>', 'last event timestamp, exclusive (required)', parseTime)
    .option('--batch-size <n>', 'events per exportEvents batch', positiveInt('--batch-size'), 500)
    .option('--max-in-flight <n>', 'batches handed to the exporters and not finished yet, at most', positiveInt('--max-in-flight'), 4)
    .option('--detach', 'print the run and return at once instead of following it')
    .description(
      "export the config's stored events of a range again through its exportEvents: a run the exporters execute (survives restarts); " +
        'the same range again follows the run already there',
    )
    .action((configId: number, options: { from?: Date; to?: Date; batchSize: number; maxInFlight: number; detach?: boolean }) =>
      withHistorical(async ({ pool, redis, queue, config }) => {
        const { from, to } = options
        if (!from) fail("required option '--from <time>' not specified")
        if (!to) fail("required option '--to <time>' not specified")
        if (from >= to) fail('--from must be before --to')
        const { run, created } = await startHistoricalExport(pool, queue, configId, {
          from,
          to,
          batchSize: options.batchSize,
          maxInFlight: options.maxInFlight,
        })
        process.stderr.write(
          created
            ? `started historical export run ${run.id} (the exporters run it; stopping this command does not stop it)\n`
            : `following historical export run ${run.id} of the same range (${run.status}; stopping this command does not stop it)\n`,
        )
        if (options.detach) return printJson(await getHistoricalProgress(pool, redis, config.queuePrefix, run.id))
        const result = await follow(pool, redis, config.queuePrefix, run.id)
        printJson(result)
        if (result.status === 'cancelled') fail(`historical export run ${run.id} was cancelled`)
      }),
    )

  historical
    .command('status')
    .argument('<runId>', 'historical export run id', positiveInt('runId'))
    .description('progress of a historical export run: total fixed at its start, exported, failed, skipped, rate, ETA')
    .action((runId: number) =>
      withHistorical(async ({ pool, redis, config }) => {
        const progress = await getHistoricalProgress(pool, redis, config.queuePrefix, runId)
        if (!progress) fail(`historical export run ${runId} not found`)
        printJson(progress)
      }),
    )

  historical
    .command('cancel')
    .argument('<runId>', 'historical export run id', positiveInt('runId'))
    .description('cancel a historical export run: no page starts after this (a page being delivered finishes)')
    .action((runId: number) =>
      withHistorical(async ({ pool, redis, config }) => {
        const result = await cancelHistoricalExport(pool, runId)
        if (result.outcome === 'not_found') fail(`historical export run ${runId} not found`)
        if (result.outcome === 'finished') fail(`historical export run ${runId} is already ${result.run.status}`)
        printJson(await getHistoricalProgress(pool, redis, config.queuePrefix, runId))
      }),
    )
}

/** Prints progress at most once a second until the run is finished (done, or cancelled and wrapped up). */
async function follow(pool: Pool, redis: Deps['redis'], prefix: string, runId: number): Promise<HistoricalRunProgress> {
  let lastPrinted = 0
  for (;;) {
    const p = await getHistoricalProgress(pool, redis, prefix, runId)
    if (!p) throw new Error(`historical export run ${runId} is gone (its plugin config was deleted)`)
    const finished = p.finishedAt !== null
    if (finished || Date.now() - lastPrinted >= 1000) {
      lastPrinted = Date.now()
      process.stderr.write(`${progressLine(p)}\n`)
    }
    if (finished) return p
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

export function progressLine(p: HistoricalRunProgress): string {
  if (p.total === null) return `run ${p.id}: ${p.status}, waiting for an exporter to count its events`
  const eta = p.etaSeconds === null ? '?' : `${Math.ceil(p.etaSeconds)} s`
  return (
    `run ${p.id}: ${p.done}/${p.total} events (${p.percent}%) ${p.status}: ${p.exported} exported, ${p.failed} failed, ${p.skipped} skipped, ` +
    `${p.enqueued} handed over, ${Math.round(p.rate)} events/s, ETA ${eta}`
  )
}

async function withHistorical(fn: (deps: Deps) => Promise<void>): Promise<void> {
  await withPool(async (pool, config) => {
    const redis = await reachableRedis(config, 'cli-export-historical')
    const queue = new HistoricalQueue(redis, config.queuePrefix)
    try {
      await fn({ pool, redis, queue, config })
    } catch (err) {
      fail(err instanceof HistoricalRunOverlap ? err.message : (nameConnectionVariable(err, config) as Error).message)
    } finally {
      await queue.close()
      redis.disconnect()
    }
  })
}
