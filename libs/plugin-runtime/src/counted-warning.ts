/**
 * A warning for something routine one at a time that matters when it keeps happening: the first
 * occurrence warns at once, the ones after are counted and warned at most once per `intervalMs`,
 * with the count since the last warning. `detail` is the latest occurrence's (what the line shows).
 */
export class CountedWarning<D> {
  private count = 0
  private warnedAt = -Infinity

  constructor(
    private readonly intervalMs: number,
    private readonly warn: (count: number, first: boolean, detail: D) => void,
    private readonly now: () => number = Date.now,
  ) {}

  add(count: number, detail: D): void {
    this.count += count
    if (this.now() - this.warnedAt < this.intervalMs) return
    const first = this.warnedAt === -Infinity
    this.warnedAt = this.now()
    this.warn(this.count, first, detail)
    this.count = 0
  }
}
