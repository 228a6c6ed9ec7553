/**
 * Name lookups of plugins' sockets in flight. `dns.lookup` runs getaddrinfo on libuv's threads (4
 * unless UV_THREADPOOL_SIZE says otherwise), which the worker's own file, zlib and crypto work and its
 * Redis and Postgres reconnects share: 32 fetches of one plugin to a name whose DNS server never
 * answered held all four for 5–20 s each. So plugins' lookups take at most half of them together, an
 * instance's group (its team) at most one, and an instance waiting takes its turn before one that
 * has just had one. Names are asked of DNS with c-ares (name-resolver.ts), so only `localhost` comes
 * here, which the C library answers without DNS; a team whose lookups hang here still leaves the
 * other slots to the other teams.
 */
export class LookupSlots {
  private readonly owners = new Map<object, { group: object; running: boolean; queued: boolean; waiting: ((done: () => void) => void)[] }>()
  /** Owners with a lookup waiting and none running, in the order they get a slot (passed over while their group has one running). */
  private readonly turns: object[] = []
  /** Groups with a lookup running: one each, so also how many slots are taken. */
  private readonly busy = new Set<object>()

  constructor(readonly max: number) {}

  /**
   * Starts `lookup` once neither `owner` nor its `group` has another lookup running and a slot is
   * free; it calls `done` when getaddrinfo has answered. It must not throw: it may start from
   * another owner's `done`.
   */
  run(owner: object, lookup: (done: () => void) => void, group: object = owner): void {
    let entry = this.owners.get(owner)
    if (!entry) this.owners.set(owner, (entry = { group, running: false, queued: false, waiting: [] }))
    entry.waiting.push(lookup)
    if (!entry.running && !entry.queued) {
      entry.queued = true
      this.turns.push(owner)
    }
    this.pump()
  }

  private pump(): void {
    while (this.busy.size < this.max) {
      const next = this.turns.findIndex((waiting) => !this.busy.has(this.owners.get(waiting)!.group))
      if (next < 0) return
      const [owner] = this.turns.splice(next, 1)
      const entry = this.owners.get(owner)!
      entry.queued = false
      const lookup = entry.waiting.shift()!
      entry.running = true
      this.busy.add(entry.group)
      let finished = false
      const done = (): void => {
        if (finished) return
        finished = true
        this.busy.delete(entry.group)
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
