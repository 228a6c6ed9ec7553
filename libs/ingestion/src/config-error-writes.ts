/**
 * When a config's last processEvent error was last written to its row, per process: a plugin that
 * fails on every event had every batch of every worker UPDATE the same `plugin_configs` row (its
 * `time` differs each time), each batch waiting on the row's lock behind the others' and leaving a
 * dead row version in a table every process reads every 30 s. At most one write per config per
 * interval now; the failures between are in the plugin logs and metrics as before.
 */
export class ConfigErrorWrites {
  private readonly writtenAt = new Map<number, number>()

  constructor(private readonly intervalMs: number) {}

  /** How many configs it remembers: those written within the interval, and the rest until it holds 1 024. */
  get size(): number {
    return this.writtenAt.size
  }

  /** Whether the config's error is to be written now; if so, counts it as written. */
  due(configId: number, now = Date.now()): boolean {
    const last = this.writtenAt.get(configId)
    if (last !== undefined && now - last < this.intervalMs) return false
    // Entries past the interval say nothing: dropped, the map holds only configs failing now.
    if (this.writtenAt.size >= 1024) for (const [id, at] of this.writtenAt) if (now - at >= this.intervalMs) this.writtenAt.delete(id)
    this.writtenAt.set(configId, now)
    return true
  }
}
