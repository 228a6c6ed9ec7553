/** Host-side timers for one isolate; unref'd so plugins never keep the process alive. */
export class HostTimers {
  private timers = new Map<number, NodeJS.Timeout>()

  constructor(private readonly fire: (id: number) => void) {}

  set(id: number, ms: number): void {
    this.clear(id)
    const timer = setTimeout(() => {
      this.timers.delete(id)
      this.fire(id)
    }, ms)
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
