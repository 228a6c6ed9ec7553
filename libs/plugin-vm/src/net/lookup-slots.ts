/**
 * Name lookups of plugins' sockets in flight. `dns.lookup` runs getaddrinfo on libuv's threads (4
 * unless UV_THREADPOOL_SIZE says otherwise), which the worker's own file, zlib and crypto work and its
 * Redis and Postgres reconnects share: 32 fetches of one plugin to a name whose DNS server never
 * answers held all four for 5–20 s each. So plugins' lookups take at most half of them together, an
 * instance at most one, and an instance waiting takes its turn before one that has just had one.
 */
export class LookupSlots {
  private running = 0
  private readonly owners = new Map<object, { running: boolean; queued: boolean; waiting: ((done: () => void) => void)[] }>()
  /** Owners with a lookup waiting and none running, in the order they get a slot. */
  private readonly turns: object[] = []

  constructor(readonly max: number) {}

  /**
   * Starts `lookup` once `owner` has no other lookup running and a slot is free; it calls `done`
   * when getaddrinfo has answered. It must not throw: it may start from another owner's `done`.
   */
  run(owner: object, lookup: (done: () => void) => void): void {
    let entry = this.owners.get(owner)
    if (!entry) this.owners.set(owner, (entry = { running: false, queued: false, waiting: [] }))
    entry.waiting.push(lookup)
    if (!entry.running && !entry.queued) {
      entry.queued = true
      this.turns.push(owner)
    }
    this.pump()
  }

  private pump(): void {
    while (this.running < this.max && this.turns.length > 0) {
      const owner = this.turns.shift()!
      const entry = this.owners.get(owner)!
      entry.queued = false
      const lookup = entry.waiting.shift()!
      entry.running = true
      this.running++
      let finished = false
      const done = (): void => {
        if (finished) return
        finished = true
        this.running--
        entry.running = false
        if (entry.waiting.length > 0) {
          entry.queued = true
          this.turns.push(owner)
        } else this.owners.delete(owner)
        this.pump()
      }
      lookup(done)
    }
  }
}

/** Half of libuv's threads (UV_THREADPOOL_SIZE, 4 by default), at least one. */
export const PLUGIN_LOOKUPS = new LookupSlots(Math.max(1, Math.floor((Number(process.env.UV_THREADPOOL_SIZE) || 4) / 2)))
