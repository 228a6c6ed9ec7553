import { TryRefusedError } from './try-errors'

/** Two isolates at full memory limit per process is what the capture app can spare next to its HTTP work. */
export const MAX_CONCURRENT_TRY_RUNS = 2
/** A double click or a second tab waits for a slot this long before it is told to come back. */
export const TRY_QUEUE_WAIT_MS = 1000

/**
 * Bounds the dry runs of one process. A run beyond the bound waits briefly for a slot, then is
 * refused (429) rather than queued behind runs that may each take the whole deadline.
 */
export class TryGate {
  private running = 0
  private readonly waiting: (() => void)[] = []

  constructor(
    readonly max = MAX_CONCURRENT_TRY_RUNS,
    readonly waitMs = TRY_QUEUE_WAIT_MS,
  ) {}

  /** Resolves with the release function once a slot is held. */
  async acquire(): Promise<() => void> {
    // A released slot is handed straight to the next waiter, so nobody can slip in between.
    if (this.running < this.max) this.running++
    else await this.wait()
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiting.shift()
      if (next) next()
      else this.running--
    }
  }

  private wait(): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = (): void => {
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(wake), 1)
        reject(new TryRefusedError(429, 'too_many_requests', `${this.max} dry runs are already running on this server; try again in a few seconds`))
      }, this.waitMs)
      this.waiting.push(wake)
    })
  }
}

/** The gate of this process, used when the caller brings none. */
export const defaultTryGate = new TryGate()
