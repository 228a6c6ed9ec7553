import { STAMP_DIGITS } from '../fire-stamp'

/** A result without its stamp, and the sandbox's fire count when it produced it. */
export function splitStamp(stampedResult: string): { result: string; fired: number } {
  const cut = stampedResult.length - STAMP_DIGITS
  return { result: stampedResult.slice(0, cut), fired: Number(stampedResult.slice(cut)) }
}

/**
 * isolated-vm delivers the sandbox's fire-and-forget calls (logs, captures, metrics) and the results
 * of calls through different queues: on a busy host a result can overtake the logs and captures the
 * call made before it returned, so `plugin run` printed an empty console and a capture fell outside
 * its call's allowance. Each result says how many fires the sandbox had sent (../fire-stamp.ts);
 * `until` holds the caller until the host has handled as many. Disposal releases every waiter: an
 * isolate that is gone sends nothing more.
 */
export class FireFence {
  private handled = 0
  private waiters: { count: number; resolve: () => void }[] = []
  private open = false

  /** Called after the host has handled one fire; counted, so the order they arrive in does not matter. */
  handledFire(): void {
    const handled = ++this.handled
    if (this.waiters.length === 0) return
    const ready = this.waiters.filter((w) => w.count <= handled)
    this.waiters = this.waiters.filter((w) => w.count > handled)
    for (const w of ready) w.resolve()
  }

  /**
   * Null when the host has already handled `count` fires (the usual case: no await). Otherwise
   * settles once it has, or after `maxMs` at the latest: a fire lost some other way must not hold a
   * call forever.
   */
  until(count: number, maxMs: number): Promise<void> | null {
    if (this.open || count <= this.handled) return null
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, maxMs)
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
      })
    })
  }

  release(): void {
    this.open = true
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w.resolve()
  }
}
