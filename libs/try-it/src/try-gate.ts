import { TryRefusedError } from './try-errors'

/** Two isolates at full memory limit per process is what the capture app can spare next to its HTTP work. */
export const MAX_CONCURRENT_TRY_RUNS = 2
/** A double click or a second tab waits for a slot this long before it is told to come back. */
export const TRY_QUEUE_WAIT_MS = 1000

interface Waiter {
  teamId: number
  wake: () => void
}

/**
 * Bounds the dry runs of one process. A run beyond the bound waits briefly for a slot, then is
 * refused (429) rather than queued behind runs that may each take the whole deadline. A team holds
 * at most all slots but one (one with the default two), so one team trying in a loop cannot keep
 * every other team's dry runs out; its extra runs wait and are refused the same way.
 */
export class TryGate {
  private running = 0
  private readonly byTeam = new Map<number, number>()
  private readonly waiting: Waiter[] = []

  constructor(
    readonly max = MAX_CONCURRENT_TRY_RUNS,
    readonly waitMs = TRY_QUEUE_WAIT_MS,
  ) {}

  /** The most slots one team holds at once: all but one, and at least one. */
  get perTeam(): number {
    return Math.max(1, this.max - 1)
  }

  /** Resolves with the release function once a slot is held for `teamId`. */
  async acquire(teamId: number): Promise<() => void> {
    // A released slot is handed straight to a waiter that may take it, so nobody can slip in between.
    if (this.fits(teamId)) this.take(teamId)
    else await this.wait(teamId)
    let released = false
    return () => {
      if (released) return
      released = true
      this.running--
      const held = (this.byTeam.get(teamId) ?? 1) - 1
      if (held > 0) this.byTeam.set(teamId, held)
      else this.byTeam.delete(teamId)
      const next = this.waiting.findIndex((w) => this.fits(w.teamId))
      if (next === -1) return
      const [waiter] = this.waiting.splice(next, 1)
      this.take(waiter.teamId)
      waiter.wake()
    }
  }

  private fits(teamId: number): boolean {
    return this.running < this.max && (this.byTeam.get(teamId) ?? 0) < this.perTeam
  }

  private take(teamId: number): void {
    this.running++
    this.byTeam.set(teamId, (this.byTeam.get(teamId) ?? 0) + 1)
  }

  private wait(teamId: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        teamId,
        wake: () => {
          clearTimeout(timer)
          resolve()
        },
      }
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1)
        reject(new TryRefusedError(429, 'too_many_requests', this.busyText(teamId)))
      }, this.waitMs)
      this.waiting.push(waiter)
    })
  }

  private busyText(teamId: number): string {
    const held = this.byTeam.get(teamId) ?? 0
    if (held >= this.perTeam)
      return `this team already has ${held} dry run${held === 1 ? '' : 's'} running on this server, the most one team may (${this.perTeam} of ${this.max}, so other teams always find a slot); try again when it has finished`
    return `${this.max} dry runs are already running on this server; try again in a few seconds`
  }
}

/** The gate of this process, used when the caller brings none. */
export const defaultTryGate = new TryGate()
