import { insertEvents } from '@plugin-server/db'
import { getHistoricalProgress, HistoricalRunProgress } from '@plugin-server/export'
import pino from 'pino'
import { createRedis } from '@plugin-server/core'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { enablePlugin, managementContext } from '../harness/plugins'
import { CliResult, FleetProcess, runCli, startCli } from '../harness/processes'
import { Destination } from './destination'
import { testEvent } from './export-setup'

export const RANGE = { from: '2024-01-01T00:00:00.000Z', to: '2024-01-02T00:00:00.000Z' }

/** A fleet (roles started by the test), an export-batch config posting to a local destination, and the range's events. */
export interface HistoricalFleet {
  fleet: TestFleet
  destination: Destination
  configId: number
  /** Uuids of the events of the range that the config exports (not ignored), in insert order. */
  exportable: string[]
  /** Uuids stored in the range that the config ignores, and outside the range. */
  ignored: string[]
  outside: string[]
  path: string
  /** Stores `n` more events in the range (timestamps spread over it) and answers their uuids. */
  store: (n: number, name?: string) => Promise<string[]>
  progress: (runId: number) => Promise<HistoricalRunProgress>
  /** Runs the CLI to completion. */
  cli: (args: string[]) => Promise<CliResult>
  startCli: (args: string[]) => FleetProcess
  finished: (runId: number) => Promise<HistoricalRunProgress>
  close: () => Promise<void>
}

export async function historicalFleet(events: number, env: Record<string, string> = {}): Promise<HistoricalFleet> {
  const fleet = await createTestFleet({ EXPORT_LOCK_DURATION_MS: '2000', TIME_SCALE: '10000', PLUGIN_TIMEOUT_MS: '20000', ...env })
  const management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
  const redis = createRedis(process.env.REDIS_URL!, pino({ level: 'silent' }), 'test-historical')
  const destination = new Destination()
  const url = await destination.start()
  const path = '/historical'
  const configId = (await enablePlugin(management, fleet.team.id, 'export-batch', { url: `${url}${path}`, exportEventsToIgnore: 'ignored' })).id
  const base = Date.parse(RANGE.from)
  let stored = 0
  const store = async (n: number, name = 'old'): Promise<string[]> => {
    const batch = Array.from({ length: n }, () => ({ ...testEvent(fleet.team.id, name), timestamp: new Date(base + (stored++ % 86_000) * 1000).toISOString() }))
    await insertEvents(fleet.db.pool, batch)
    return batch.map((e) => e.uuid)
  }
  const exportable = await store(events)
  const ignored = await store(3, 'ignored')
  const late = { ...testEvent(fleet.team.id, 'too late'), timestamp: RANGE.to }
  await insertEvents(fleet.db.pool, [late])
  const children: FleetProcess[] = []
  const progress = async (runId: number) => (await getHistoricalProgress(fleet.db.pool, redis, fleet.env.QUEUE_PREFIX, runId))!
  return {
    fleet,
    destination,
    configId,
    exportable,
    ignored,
    outside: [late.uuid],
    path,
    store,
    progress,
    cli: (args) => runCli(args, { ...fleet.env, LOG_LEVEL: 'warn' }),
    startCli: (args) => {
      const proc = startCli(args, { ...fleet.env, LOG_LEVEL: 'warn' })
      children.push(proc)
      return proc
    },
    finished: (runId) =>
      eventually(
        `run ${runId} finished`,
        () => progress(runId),
        (p) => p.finishedAt !== null,
        60_000,
      ),
    close: async () => {
      await Promise.all(children.map((c) => c.kill('SIGKILL')))
      destination.release(503)
      redis.disconnect()
      await management.close()
      await fleet.close()
      await destination.close()
    },
  }
}
