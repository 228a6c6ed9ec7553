import type { Pool } from 'pg'
import type { Logger } from '@plugin-server/core'
import { latestPluginLogIds } from '@plugin-server/db'
import { HttpError } from './interfaces'

export interface LogTailOptions {
  /** Long-polls held at once by this process; one more is refused with 429. */
  maxWaiters: number
  /** How often one query checks every waited-on config for new rows. */
  pollMs: number
}

export const LOG_TAIL_DEFAULTS: LogTailOptions = { maxWaiters: 100, pollMs: 500 }

interface Waiter {
  configId: number
  after: number
  resolve: (newest: number | null) => void
}

/**
 * Long-polls on log rows (`GET /api/configs/:id/logs?after=&wait=`). Waiters hold no connection of
 * their own: while any wait, one query every `pollMs` reads the newest row id of each waited-on
 * config (an index probe per config) and wakes those behind it. So the load on Postgres is one
 * small query per interval per API process, however many browsers follow, and a waiter whose
 * client went away is dropped at once.
 */
export class LogTail {
  private readonly waiters = new Set<Waiter>()
  private timer: NodeJS.Timeout | null = null
  private polling = false
  private released = false

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    private readonly options: LogTailOptions = LOG_TAIL_DEFAULTS,
  ) {}

  /** Long-polls held now. */
  get waiting(): number {
    return this.waiters.size
  }

  /**
   * Resolves with the config's newest row id once it is past `after`, or null when `ms` ran out,
   * `signal` aborted (the client went away) or the tail was released for shutdown.
   */
  waitPast(configId: number, after: number, ms: number, signal: AbortSignal): Promise<number | null> {
    if (signal.aborted || this.released) return Promise.resolve(null)
    if (this.waiters.size >= this.options.maxWaiters) {
      throw new HttpError(
        429,
        'too_many_requests',
        `${this.options.maxWaiters} log long-polls are already waiting on this server; poll without wait or try again in a few seconds`,
        'wait',
        { 'Retry-After': '5' },
      )
    }
    return new Promise((resolve) => {
      const done = (newest: number | null) => {
        if (!this.waiters.delete(waiter)) return
        clearTimeout(timeout)
        signal.removeEventListener('abort', onAbort)
        resolve(newest)
      }
      const waiter: Waiter = { configId, after, resolve: done }
      const timeout = setTimeout(() => done(null), ms)
      const onAbort = () => done(null)
      signal.addEventListener('abort', onAbort, { once: true })
      this.waiters.add(waiter)
      this.schedule()
    })
  }

  /** Answers every waiter now and later ones at once (with nothing new), so a shutting-down server is not held open by them. */
  releaseAll(): void {
    this.released = true
    for (const waiter of [...this.waiters]) waiter.resolve(null)
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private schedule(): void {
    if (this.timer || this.polling || this.waiters.size === 0) return
    this.timer = setTimeout(() => void this.poll(), this.options.pollMs)
  }

  private async poll(): Promise<void> {
    this.timer = null
    this.polling = true
    try {
      const configIds = [...new Set([...this.waiters].map((w) => w.configId))]
      const newest = await latestPluginLogIds(this.pool, configIds)
      for (const waiter of [...this.waiters]) {
        const id = newest.get(waiter.configId) ?? 0
        if (id > waiter.after) waiter.resolve(id)
      }
    } catch (err) {
      // Postgres away: waiters run out their time and answer empty; the next poll tries again.
      this.logger.warn({ err: (err as Error).message }, 'log long-poll check failed')
    } finally {
      this.polling = false
      this.schedule()
    }
  }
}
