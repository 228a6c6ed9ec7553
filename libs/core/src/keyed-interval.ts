/**
 * At most one go per key per interval, per process: a config's last error written to its row (a
 * plugin failing on every event had every batch of every worker update it). Bounded: once it holds
 * 1 024 keys, those whose interval is over are dropped.
 */
export class KeyedInterval<K> {
  private readonly lastAt = new Map<K, number>()

  constructor(private readonly intervalMs: number) {}

  /** How many keys it remembers: those gone within the interval, and the rest until it holds 1 024. */
  get size(): number {
    return this.lastAt.size
  }

  /** Whether the key's go is due now; if so, counts it as gone. */
  due(key: K, now = Date.now()): boolean {
    const last = this.lastAt.get(key)
    if (last !== undefined && now - last < this.intervalMs) return false
    // Entries past the interval say nothing: dropped, the map holds only keys gone lately.
    if (this.lastAt.size >= 1024) for (const [k, at] of this.lastAt) if (now - at >= this.intervalMs) this.lastAt.delete(k)
    this.lastAt.set(key, now)
    return true
  }
}
