import { EvictionReason, PluginInstance, PluginPoolOptions } from './interfaces'

interface Slot {
  instance: PluginInstance
  busy: number
  /** When a use last began (ms since the epoch), for `evictionRank`. */
  usedAt: number
  /** Set while an eviction waits for the calls in flight. */
  idle?: () => void
}

/** A load in progress. */
interface Loading extends LoadCount {
  slot: Promise<Slot>
}

/** The callers waiting for a load, counted so its slot is busy for each of them from the moment it exists. */
interface LoadCount {
  waiters: number
  /** Set once the slot exists: a later caller takes it, or loads anew if it was disposed at once. */
  made: boolean
}

const DEFAULT_DRAIN_TIMEOUT_MS = 30_000
/** With `evictionRank`: how many of a scan's highest ranked idle keys later evictions take, and for how long. */
const CANDIDATES = 16
const CANDIDATES_MAX_AGE_MS = 1000
/** Evicted instances still tearing down that loads may leave behind them: one per this many of the cap (see makeRoom). */
const ROOM_TEARDOWNS_PER_CAP = 10

/** Default cap: PLUGIN_MAX_LIVE_INSTANCES's default (libs/core config), so a pool built without the config caps like one built with it. */
export const DEFAULT_MAX_LIVE_INSTANCES = 2000

/**
 * Caps live isolates per process. `use` loads on demand, reloads instances that were disposed
 * after a breach, and evicts an idle instance when over the cap: the least recently used one, or,
 * where the role knows its keys' uses better (`evictionRank`), the one it ranks highest.
 */
export class PluginPool<K> {
  private slots = new Map<K, Slot>()
  private loading = new Map<K, Loading>()
  /** Instances taken out and not yet torn down (draining, or in onEvict): `close` waits for them. */
  private readonly retiring = new Set<Promise<void>>()
  /** The teardowns of instances evicted to make room that have not ended: loads do not wait for them, up to a bound (see makeRoom). */
  private readonly roomTeardowns = new Set<Promise<void>>()
  /** Loads that have made room and are not in the pool yet: each counts as live when the next load makes room. */
  private arriving = 0
  /** PLUGIN_MAX_LIVE_INSTANCES: the most the cap can be. */
  readonly maxLive: number
  /** Live isolates allowed now: `maxLive`, or less while `limitLive` holds it lower. */
  private liveCap: number
  /** The last ranking scan's next best idle keys, best last, and the keys used or loaded since it (see highestIdle). */
  private candidates: K[] = []
  private readonly touched = new Set<K>()
  private scannedAt = -Infinity

  constructor(private readonly options: PluginPoolOptions<K>) {
    this.maxLive = options.maxLiveInstances ?? DEFAULT_MAX_LIVE_INSTANCES
    this.liveCap = this.maxLive
  }

  /** Live isolates allowed now (see `limitLive`). */
  get cap(): number {
    return this.liveCap
  }

  /**
   * Allows `cap` live isolates from now on (within 1 and `maxLive`) and evicts idle ones, in the
   * order making room would, until no more than that are live. Busy ones are left to finish: the
   * loads after them make room at the lower cap. Resolves with how many it evicted, once each is torn down.
   */
  async limitLive(cap: number, reason: EvictionReason = 'explicit'): Promise<number> {
    this.liveCap = Math.min(this.maxLive, Math.max(1, Math.floor(cap)))
    return this.evictIdleDownTo(this.liveCap, reason)
  }

  get size(): number {
    return this.slots.size
  }

  has(key: K): boolean {
    return this.slots.has(key)
  }

  /** Whether `instance` is the one the pool holds for `key` now (not one still loading, nor one replaced). */
  holds(key: K, instance: PluginInstance): boolean {
    return this.slots.get(key)?.instance === instance
  }

  async use<T>(key: K, fn: (instance: PluginInstance) => Promise<T>): Promise<T> {
    const slot = this.take(key) ?? (await this.loadFor(key))
    try {
      return await fn(slot.instance)
    } finally {
      slot.busy--
      if (slot.busy === 0) slot.idle?.()
    }
  }

  /**
   * Takes the instance out of the pool at once (the next `use` loads a new one: a reload), lets the
   * calls it has in flight finish, bounded by `drainTimeoutMs`, then tears it down. Disposing it
   * under those calls would fail the batch, job or export each one carries. With `only`, evicts the
   * key's instance only if it is still that one.
   */
  async evict(key: K, reason: EvictionReason = 'explicit', only?: PluginInstance): Promise<void> {
    const slot = this.slots.get(key)
    // With `only`: that instance, never a newer one loaded in its place meanwhile.
    if (!slot || (only && slot.instance !== only)) return
    await this.takeOut(key, slot, reason)
  }

  /** Takes the slot out of the pool now; the promise ends with its teardown. */
  private takeOut(key: K, slot: Slot, reason: EvictionReason): Promise<void> {
    this.slots.delete(key)
    const retired = this.retire(key, slot, reason)
    this.retiring.add(retired)
    return retired.finally(() => this.retiring.delete(retired))
  }

  private async retire(key: K, slot: Slot, reason: EvictionReason): Promise<void> {
    await this.drain(slot)
    try {
      if (!slot.instance.disposed) await this.options.onEvict?.(key, slot.instance, reason)
    } finally {
      slot.instance.dispose()
    }
  }

  private drain(slot: Slot): Promise<void> {
    if (slot.busy === 0 || slot.instance.disposed) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS)
      timer.unref?.()
      slot.idle = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  /**
   * Tears down every instance, and returns once each teardown has ended: those of instances still
   * loading (awaited, then evicted) and of those already taken out (a reload, a memory unload), so
   * no onEvict runs after the services it uses are closed.
   */
  async close(): Promise<void> {
    await Promise.allSettled([...this.loading.values()].map((loading) => loading.slot))
    await Promise.allSettled([...[...this.slots.keys()].map((key) => this.evict(key, 'close')), ...this.retiring])
  }

  /**
   * The key's live instance, counted busy for the caller before anything can run in between: an
   * eviction making room for another load between the lookup and the count would tear it down under
   * the caller (with the scheduler's `evictionRank`, an instance just used is needed last, so taken first).
   */
  private take(key: K): Slot | undefined {
    const existing = this.slots.get(key)
    if (!existing || existing.instance.disposed) return undefined
    // Re-insert to keep Map order = least recently used first.
    this.slots.delete(key)
    this.slots.set(key, existing)
    existing.usedAt = Date.now()
    existing.busy++
    this.touch(key)
    return existing
  }

  /** Loads the key's instance, or joins the load in progress; the slot comes back already counted busy for this caller. */
  private loadFor(key: K): Promise<Slot> {
    const gone = this.slots.get(key)
    if (gone?.instance.disposed) {
      // isolated-vm may have disposed the isolate itself (its memory limit) with no call of ours
      // failing: dispose the instance too, which gives back what it held in budgets shared with its
      // team and the process (sockets, upload streams, cache reads), beyond its own lifetime.
      gone.instance.dispose()
      this.slots.delete(key)
    }
    let loading = this.loading.get(key)
    if (!loading || loading.made) loading = this.startLoad(key)
    loading.waiters++
    return loading.slot
  }

  private startLoad(key: K): Loading {
    const count: LoadCount = { waiters: 0, made: false }
    const slot: Promise<Slot> = this.load(key, count).finally(() => {
      if (this.loading.get(key)?.slot === slot) this.loading.delete(key)
    })
    const loading = Object.assign(count, { slot })
    this.loading.set(key, loading)
    return loading
  }

  private async load(key: K, count: LoadCount): Promise<Slot> {
    let arrived = false
    // Room is made once per load, when its isolate is about to be made (see PluginPoolOptions.create).
    let making: Promise<void> | null = null
    const room = (): Promise<void> => (making ??= this.makeRoom(() => (arrived = true)))
    try {
      const instance = await this.options.create(key, room)
      try {
        await room()
        await this.options.onLoad?.(key, instance)
      } catch (error) {
        instance.dispose()
        throw error
      }
      // Busy for every caller waiting for it, until each one's call ends.
      const slot = { instance, busy: count.waiters, usedAt: Date.now() }
      count.made = true
      this.slots.set(key, slot)
      this.touch(key)
      return slot
    } finally {
      if (arrived) this.arriving--
    }
  }

  /** Only while a scan's kept keys may still be used, so the set holds at most their lifetime's uses. */
  private touch(key: K): void {
    if (this.candidates.length > 0 && Date.now() - this.scannedAt <= CANDIDATES_MAX_AGE_MS) this.touched.add(key)
  }

  /**
   * Busy instances are never evicted; the cap may be exceeded briefly while all are busy.
   *
   * The load does not wait for the teardown of the instance it evicts: that is another config's,
   * often another team's, `teardownPlugin`, which may take up to its deadline (30 s), while the load
   * is a batch, job or export waiting. The evicted isolates still tearing down are bounded instead:
   * while they number a tenth of the cap (at least one), a load waits for one of them to end. So
   * they add at most a tenth of the cap to the isolates a process holds (3 850 at the largest cap,
   * under V8's ceiling of about 4 050: libs/core config, PLUGIN_MAX_LIVE_INSTANCES), and only while
   * teardowns last.
   *
   * Loads count as live (`arriving`) from when they make room, just before their isolate is made,
   * until they are in the pool: a burst of loads each makes room for itself, not all for one place
   * (three at once over a full pool of three left five). A load still waiting for its team's memory
   * makes no room and is not counted: counted, it had every later load of every team evict what it
   * found idle.
   */
  /** `arrive`: told in the turn the load starts to count as arriving. */
  private async makeRoom(arrive: () => void): Promise<void> {
    const teardownsAllowed = Math.max(1, Math.ceil(this.liveCap / ROOM_TEARDOWNS_PER_CAP))
    while (this.roomTeardowns.size >= teardownsAllowed) await Promise.race(this.roomTeardowns)
    for (const teardown of this.evictIdle(this.liveCap - 1 - this.arriving, 'room')) {
      // An onEvict that fails is the role's to report; the room is made either way.
      const ended = teardown.catch(() => undefined)
      this.roomTeardowns.add(ended)
      void ended.finally(() => this.roomTeardowns.delete(ended))
    }
    // In the same turn as the evictions: the next load to make room counts this one.
    this.arriving++
    arrive()
  }

  /** Evicts idle instances, the highest ranked (or least recently used) first, until at most `live` are left or none is idle. */
  private async evictIdleDownTo(live: number, reason: EvictionReason): Promise<number> {
    const teardowns = this.evictIdle(live, reason)
    await Promise.all(teardowns)
    return teardowns.length
  }

  /** Takes idle instances out as evictIdleDownTo says, at once; each promise ends with that instance's teardown. */
  private evictIdle(live: number, reason: EvictionReason): Promise<void>[] {
    const teardowns: Promise<void>[] = []
    const rank = this.options.evictionRank
    if (rank) {
      while (this.slots.size > live) {
        const key = this.highestIdle(rank)
        const slot = key === undefined ? undefined : this.slots.get(key)
        if (key === undefined || slot === undefined) break
        teardowns.push(this.takeOut(key, slot, reason))
      }
      return teardowns
    }
    for (const [key, slot] of this.slots) {
      if (this.slots.size <= live) break
      if (slot.busy === 0) teardowns.push(this.takeOut(key, slot, reason))
    }
    return teardowns
  }

  /**
   * The idle key ranked highest. Ranking every instance for every eviction cost a crowded scheduler
   * (3 500 instances, 50 evictions a second) a fifth of its CPU, so a scan keeps its next best keys
   * for the evictions after it, for at most CANDIDATES_MAX_AGE_MS (ranks move with time: a scheduled
   * run coming due). Those evictions rank the best kept key again and every key used or loaded since
   * the scan (`touched`: what a scan would rank differently now), and take the highest; a kept key
   * used, gone or busy since is passed over.
   */
  private highestIdle(rank: NonNullable<PluginPoolOptions<K>['evictionRank']>): K | undefined {
    const now = Date.now()
    if (now - this.scannedAt <= CANDIDATES_MAX_AGE_MS && this.candidates.length > 0) {
      let best: K | undefined
      let bestRank = -Infinity
      for (const key of this.touched) {
        const slot = this.slots.get(key)
        if (!slot) this.touched.delete(key)
        else if (slot.busy === 0) {
          const touchedRank = rank(key, slot.instance, slot.usedAt)
          if (touchedRank > bestRank) {
            best = key
            bestRank = touchedRank
          }
        }
      }
      for (let kept = this.candidates.at(-1); kept !== undefined; kept = this.candidates.at(-1)) {
        const slot = this.slots.get(kept)
        if (slot && slot.busy === 0 && !this.touched.has(kept)) {
          if (rank(kept, slot.instance, slot.usedAt) >= bestRank) best = this.candidates.pop()
          break
        }
        this.candidates.pop()
      }
      if (best !== undefined) {
        this.touched.delete(best)
        return best
      }
    }
    const ranked: { key: K; rank: number }[] = []
    for (const [key, slot] of this.slots) if (slot.busy === 0) ranked.push({ key, rank: rank(key, slot.instance, slot.usedAt) })
    // Stable: equal ranks keep Map order, least recently used first.
    ranked.sort((a, b) => b.rank - a.rank)
    this.candidates = ranked
      .slice(1, CANDIDATES)
      .reverse()
      .map((c) => c.key)
    this.touched.clear()
    this.scannedAt = now
    return ranked[0]?.key
  }
}
