/**
 * A warning for something routine one at a time that matters when it keeps happening: the first
 * occurrence warns at once, the ones after are counted and warned at most once per `intervalMs`,
 * with the count since the last warning. `detail` is the latest occurrence's (what the line shows).
 */
export class CountedWarning<D> {
  private count = 0
  private warnedAt = -Infinity
  private latest: D | undefined

  constructor(
    private readonly intervalMs: number,
    private readonly warn: (count: number, first: boolean, detail: D) => void,
    private readonly now: () => number = Date.now,
  ) {}

  add(count: number, detail: D): void {
    this.count += count
    this.latest = detail
    if (this.now() - this.warnedAt < this.intervalMs) return
    this.warnNow()
  }

  /** Warns of what was counted since the last warning, if anything (at shutdown: no later occurrence will). */
  flush(): void {
    if (this.count > 0) this.warnNow()
  }

  private warnNow(): void {
    const first = this.warnedAt === -Infinity
    this.warnedAt = this.now()
    this.warn(this.count, first, this.latest as D)
    this.count = 0
  }
}
