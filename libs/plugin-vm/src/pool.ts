import { EvictionReason, PluginInstance, PluginPoolOptions } from './interfaces'

interface Slot {
  instance: PluginInstance
  busy: number
  /** Set while an eviction waits for the calls in flight. */
  idle?: () => void
}

const DEFAULT_DRAIN_TIMEOUT_MS = 30_000

/** Default cap: PLUGIN_MAX_LIVE_INSTANCES's default (libs/core config), so a pool built without the config caps like one built with it. */
export const DEFAULT_MAX_LIVE_INSTANCES = 2000

/**
 * Caps live isolates per process. `use` loads on demand, reloads instances that were disposed
 * after a breach, and evicts the least recently used idle instance when over the cap.
 */
export class PluginPool<K> {
  private slots = new Map<K, Slot>()
  private loading = new Map<K, Promise<Slot>>()
  /** Instances taken out and not yet torn down (draining, or in onEvict): `close` waits for them. */
  private readonly retiring = new Set<Promise<void>>()
  private readonly maxLive: number

  constructor(private readonly options: PluginPoolOptions<K>) {
    this.maxLive = options.maxLiveInstances ?? DEFAULT_MAX_LIVE_INSTANCES
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
    const slot = await this.acquire(key)
    slot.busy++
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
    this.slots.delete(key)
    const retired = this.retire(key, slot, reason)
    this.retiring.add(retired)
    try {
      await retired
    } finally {
      this.retiring.delete(retired)
    }
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
    await Promise.allSettled(this.loading.values())
    await Promise.allSettled([...[...this.slots.keys()].map((key) => this.evict(key, 'close')), ...this.retiring])
  }

  private async acquire(key: K): Promise<Slot> {
    const existing = this.slots.get(key)
    if (existing && !existing.instance.disposed) {
      // Re-insert to keep Map order = least recently used first.
      this.slots.delete(key)
      this.slots.set(key, existing)
      return existing
    }
    if (existing) this.slots.delete(key)
    let pending = this.loading.get(key)
    if (!pending) {
      pending = this.load(key).finally(() => this.loading.delete(key))
      this.loading.set(key, pending)
    }
    return pending
  }

  private async load(key: K): Promise<Slot> {
    await this.makeRoom()
    const instance = await this.options.create(key)
    try {
      await this.options.onLoad?.(key, instance)
    } catch (error) {
      instance.dispose()
      throw error
    }
    const slot = { instance, busy: 0 }
    this.slots.set(key, slot)
    return slot
  }

  /** Busy instances are never evicted; the cap may be exceeded briefly while all are busy. */
  private async makeRoom(): Promise<void> {
    for (const [key, slot] of this.slots) {
      if (this.slots.size < this.maxLive) return
      if (slot.busy === 0) await this.evict(key, 'lru')
    }
  }
}
