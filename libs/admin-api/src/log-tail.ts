import type { Pool } from 'pg'
import type { Logger } from '@plugin-server/core'
import { latestPluginLogIds } from '@plugin-server/db'
import { HttpError } from './interfaces'

export interface LogTailOptions {
  /** Long-polls held at once by this process; one more is refused with 429. */
  maxWaiters: number
  /**
   * Long-polls held at once for the configs of one team; one more of that team is refused with 429,
   * so one team cannot take every place and leave the others' live log views refused. A tenth of
   * `maxWaiters` (at least one) when not given.
   */
  maxWaitersPerTeam?: number
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
 * One long-poll's place, held from its first wait until it is answered: a wait woken by rows the
 * poll's filters leave out waits again in the same place, so another poll cannot take it meanwhile
 * and leave this one refused halfway through its wait.
 */
export interface LogTailPlace {
  /**
   * Resolves with the config's newest row id once it is past `after`, or null when `ms` ran out,
   * `signal` aborted (the client went away) or the tail was released for shutdown.
   */
  waitPast(configId: number, after: number, ms: number, signal: AbortSignal): Promise<number | null>
  /** Gives the place back; again is harmless. */
  release(): void
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
  /** Places held, in all and per team. */
  private held = 0
  private readonly byTeam = new Map<number, number>()
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
    return this.held
  }

  /** The most long-polls held at once for one team's configs. */
  get perTeam(): number {
    return this.options.maxWaitersPerTeam ?? Math.max(1, Math.floor(this.options.maxWaiters / 10))
  }

  /**
   * A place for one long-poll on `teamId`'s configs (the team that owns them: its polls count against
   * that team's share), or a 429 when every place, or the team's share of them, is held.
   */
  take(teamId: number): LogTailPlace {
    if (this.held >= this.options.maxWaiters)
      throw tooMany(`${this.options.maxWaiters} log long-polls are already waiting on this server (the limit for all teams)`)
    if ((this.byTeam.get(teamId) ?? 0) >= this.perTeam)
      throw tooMany(`${this.perTeam} log long-polls are already waiting for team ${teamId}'s configs on this server (the limit for one team)`)
    this.held++
    this.byTeam.set(teamId, (this.byTeam.get(teamId) ?? 0) + 1)
    let holding = true
    return {
      waitPast: (configId, after, ms, signal) => (holding ? this.waitPast(configId, after, ms, signal) : Promise.resolve(null)),
      release: () => {
        if (!holding) return
        holding = false
        this.held--
        const left = (this.byTeam.get(teamId) ?? 1) - 1
        if (left > 0) this.byTeam.set(teamId, left)
        else this.byTeam.delete(teamId)
      },
    }
  }

  /** Answers every waiter now and later ones at once (with nothing new), so a shutting-down server is not held open by them. */
  releaseAll(): void {
    this.released = true
    for (const waiter of [...this.waiters]) waiter.resolve(null)
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private waitPast(configId: number, after: number, ms: number, signal: AbortSignal): Promise<number | null> {
    if (signal.aborted || this.released) return Promise.resolve(null)
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

function tooMany(why: string): HttpError {
  return new HttpError(429, 'too_many_requests', `${why}; poll without wait or try again in a few seconds`, 'wait', { 'Retry-After': '5' })
}
