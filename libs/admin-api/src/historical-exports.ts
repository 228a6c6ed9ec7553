import { DeliveryQueue, ExportSettings, HistoricalRun, listHistoricalProgress, runHistoricalExport } from '@plugin-server/export'
import type { ManagementContext } from '@plugin-server/meta'
import { HttpError } from './interfaces'

/** A historical run as the API shows it; `error`: why the last attempt to drive it stopped, if it did. */
export interface HistoricalRunView {
  id: number
  status: 'running' | 'done'
  from: string
  to: string
  total: number
  enqueued: number
  done: number
  created_at: string
  finished_at: string | null
  error: { message: string; time: string } | null
}

export interface HistoricalRange {
  from: Date
  to: Date
  batchSize: number
}

/** Pages handed to the exporters and not finished yet, at most (the CLI's default). */
const MAX_IN_FLIGHT = 4
/** Long enough to be read after a weekend; a run that is resumed clears it. */
const ERROR_TTL_SECONDS = 7 * 24 * 3600

const errorKey = (queuePrefix: string, runId: number) => `${queuePrefix}:export:historical-error:${runId}`

interface InFlight {
  started: Promise<HistoricalRun>
  abort: AbortController
  finished: Promise<void>
}

/**
 * Drives historical exports inside the API process, as `plugin-server export historical` does in
 * the CLI: the run's cursor is in Postgres, so a run stopped by a restart resumes when the same
 * range is started again. One process drives a range at most once at a time; two API replicas
 * given the same range would both drive it, which the fixed page job ids make harmless.
 */
export class HistoricalExports {
  private readonly inFlight = new Map<string, InFlight>()
  private closing = false

  constructor(
    private readonly management: ManagementContext,
    private readonly deliveries: () => DeliveryQueue,
    private readonly settings: ExportSettings | undefined,
  ) {}

  /** Resolves with the run once it is open (new or resumed); the export goes on in the background. */
  start(configId: number, teamId: number, range: HistoricalRange): Promise<HistoricalRun> {
    const { settings } = this
    if (!settings) throw new HttpError(503, 'unavailable', 'historical exports are not available here: the admin API was started without the export settings')
    if (this.closing) throw new HttpError(503, 'unavailable', 'the server is shutting down; start the historical export again once it is back')
    const key = `${configId}:${range.from.toISOString()}:${range.to.toISOString()}`
    const running = this.inFlight.get(key)
    if (running) return running.started
    const { pool, redis, queuePrefix, logger } = this.management
    const abort = new AbortController()
    const log = logger.child({ pluginConfigId: configId, teamId, from: range.from.toISOString(), to: range.to.toISOString() })
    let opened: HistoricalRun | null = null
    let resolveStarted!: (run: HistoricalRun) => void
    let rejectStarted!: (err: Error) => void
    const started = new Promise<HistoricalRun>((resolve, reject) => ((resolveStarted = resolve), (rejectStarted = reject)))
    const finished = runHistoricalExport(pool, redis, queuePrefix, this.deliveries(), configId, {
      ...range,
      maxInFlight: MAX_IN_FLIGHT,
      settings,
      signal: abort.signal,
      onStart: (run, resumed) => {
        opened = run
        log.info({ runId: run.id, resumed, total: run.totalEvents, enqueued: run.enqueuedEvents }, 'historical export started by the admin API')
        redis.del(errorKey(queuePrefix, run.id)).catch(() => undefined)
        resolveStarted(run)
      },
    })
      .then((progress) => log.info({ runId: progress.runId, done: progress.done, total: progress.total }, 'historical export finished'))
      .catch(async (err: Error) => {
        if (!opened) return rejectStarted(err)
        if (abort.signal.aborted) return log.info({ runId: opened.id }, 'historical export stopped for shutdown; start the same range again to resume')
        log.error({ runId: opened.id, err: err.message }, 'historical export failed; start the same range again to resume')
        const record = JSON.stringify({ message: err.message, time: new Date().toISOString() })
        await redis.set(errorKey(queuePrefix, opened.id), record, 'EX', ERROR_TTL_SECONDS).catch(() => undefined)
      })
      .finally(() => this.inFlight.delete(key))
    this.inFlight.set(key, { started, abort, finished })
    return started
  }

  /** Newest first. */
  async list(configId: number): Promise<HistoricalRunView[]> {
    const { pool, redis, queuePrefix } = this.management
    const runs = await listHistoricalProgress(pool, redis, queuePrefix, configId)
    if (runs.length === 0) return []
    const errors = await redis.mget(...runs.map((r) => errorKey(queuePrefix, r.id)))
    const views = runs.map((r, i) => ({
      id: r.id,
      status: r.status,
      from: r.from,
      to: r.to,
      total: r.total,
      enqueued: r.enqueued,
      done: r.done,
      created_at: r.createdAt,
      finished_at: r.finishedAt,
      error: parseError(errors[i]),
    }))
    return views.reverse()
  }

  async close(): Promise<void> {
    this.closing = true
    for (const entry of this.inFlight.values()) entry.abort.abort(new Error('admin API shutting down'))
    await Promise.allSettled([...this.inFlight.values()].map((e) => e.finished))
  }
}

function parseError(text: string | null): HistoricalRunView['error'] {
  if (text === null) return null
  try {
    return JSON.parse(text) as HistoricalRunView['error']
  } catch {
    return null
  }
}
