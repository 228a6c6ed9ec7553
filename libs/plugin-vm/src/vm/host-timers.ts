/**
 * Node's setTimeout takes at most 2^31 − 1 ms: a longer delay (a plugin's 30-day setTimeout,
 * `Infinity`) is set to 1 ms with a TimeoutOverflowWarning, so a long setInterval became a busy
 * loop on the host past the 10 ms minimum and every call wrote a warning to the host's stderr.
 */
const MAX_NODE_DELAY_MS = 2 ** 31 - 1

/**
 * Timers one isolate may have set at once: the sandbox's own limit (sandbox/timers.ts), kept here
 * too because the sandbox counts with a Map the plugin can reach through Map.prototype (a plugin that
 * replaced `size` set a million host timers, 470 MB of the host's heap).
 */
export const MAX_HOST_TIMERS = 10_000

/** Host-side timers for one isolate; unref'd so plugins never keep the process alive. */
export class HostTimers {
  private timers = new Map<number, NodeJS.Timeout>()

  constructor(private readonly fire: (id: number) => void) {}

  /** A delay past Node's limit is waited out in steps of that limit (`Infinity`: until cleared or disposed). */
  set(id: number, ms: number): void {
    this.clear(id)
    if (this.timers.size >= MAX_HOST_TIMERS) throw new RangeError(`too many pending timers (limit ${MAX_HOST_TIMERS})`)
    const wait = Number.isNaN(ms) ? 0 : Math.max(0, ms)
    const step = Math.min(wait, MAX_NODE_DELAY_MS)
    const timer = setTimeout(() => {
      this.timers.delete(id)
      if (wait > step) this.set(id, wait - step)
      else this.fire(id)
    }, step)
    timer.unref()
    this.timers.set(id, timer)
  }

  clear(id: number): void {
    const timer = this.timers.get(id)
    if (timer) clearTimeout(timer)
    this.timers.delete(id)
  }

  clearAll(): void {
    for (const timer of this.timers.values()) clearTimeout(timer)
    this.timers.clear()
  }
}
