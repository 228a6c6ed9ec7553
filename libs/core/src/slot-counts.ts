/**
 * How many of a process's worker slots each key (a team, a config) holds, for a share per key: the
 * exporter's deliveries and the job-worker's jobs check it before they run, and postpone a job whose
 * key is at its share.
 */
export class SlotCounts<K> {
  private readonly counts = new Map<K, number>()

  held(key: K): number {
    return this.counts.get(key) ?? 0
  }

  take(key: K): void {
    this.counts.set(key, this.held(key) + 1)
  }

  /** Runs `run` holding one of the key's slots, given back however it ends. */
  async within<T>(key: K, run: () => Promise<T>): Promise<T> {
    this.take(key)
    try {
      return await run()
    } finally {
      this.give(key)
    }
  }

  /** Gives back one slot; a key holding none is forgotten. */
  give(key: K): void {
    const left = this.held(key) - 1
    if (left <= 0) this.counts.delete(key)
    else this.counts.set(key, left)
  }
}
