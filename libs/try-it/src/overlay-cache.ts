import { MemoryCache } from '@plugin-server/plugin-vm'
import type { PluginCache } from '@plugin-server/plugin-vm'
import type { HeldBytes } from './held-bytes'

/** Enough of a list for any dry run; a longer list is shown truncated rather than copied whole. */
const MAX_SEEDED_LIST = 10_000

/**
 * `meta.cache` of a dry run: every key is read from the config's real namespace the first time it
 * is touched, then lives in memory. Writes change only the copy, so a plugin that sets and then
 * reads a key sees its own write, and Redis never does.
 */
export class OverlayCache implements PluginCache {
  private readonly memory: MemoryCache
  private readonly seeded = new Map<string, Promise<void>>()

  /**
   * `real` null: a plugin without a config yet, whose namespaces are empty. What is kept, seeded
   * copies included, counts against the run's `held` bytes; nothing else is kept (no write log).
   */
  constructor(
    private readonly real: PluginCache | null,
    held: HeldBytes,
  ) {
    this.memory = new MemoryCache({ keepWrites: false, charge: (bytes) => held.charge(bytes) })
  }

  async set(key: string, value: unknown, ttlSeconds?: number, options?: { jsonSerialize?: boolean }): Promise<void> {
    await this.seed(key)
    return this.memory.set(key, value, ttlSeconds, options)
  }

  async readMany(keys: readonly string[], maxBytes: number): Promise<(string | null | Error | undefined)[]> {
    await Promise.all(keys.map((key) => this.seed(key)))
    return this.memory.readMany(keys, maxBytes)
  }

  async incr(key: string): Promise<number> {
    await this.seed(key)
    return this.memory.incr(key)
  }

  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    await this.seed(key)
    return this.memory.expire(key, ttlSeconds)
  }

  async lpush(key: string, elementOrArray: unknown): Promise<number> {
    await this.seed(key)
    return this.memory.lpush(key, elementOrArray)
  }

  async lrange(key: string, startIndex: number, endIndex: number): Promise<string[]> {
    await this.seed(key)
    return this.memory.lrange(key, startIndex, endIndex)
  }

  async llen(key: string): Promise<number> {
    await this.seed(key)
    return this.memory.llen(key)
  }

  async lpop(key: string, count: number): Promise<string[]> {
    await this.seed(key)
    return this.memory.lpop(key, count)
  }

  async lrem(key: string, count: number, elementKey: string): Promise<number> {
    await this.seed(key)
    return this.memory.lrem(key, count, elementKey)
  }

  private seed(key: string): Promise<void> {
    // Nothing to copy: not remembered either, so distinct keys read cost nothing.
    if (!this.real) return Promise.resolve()
    let seeding = this.seeded.get(key)
    if (!seeding) {
      seeding = this.copy(key)
      this.seeded.set(key, seeding)
    }
    return seeding
  }

  /** A string key is copied raw; reading a list key as a string answers WRONGTYPE, so it is read as a list. */
  private async copy(key: string): Promise<void> {
    if (!this.real) return
    // One value is at most PLUGIN_CACHE_MAX_VALUE_BYTES: no bound of the read's own.
    const [raw] = await this.real.readMany([key], Number.MAX_SAFE_INTEGER)
    if (raw instanceof Error) {
      if (!/WRONGTYPE/.test(raw.message)) throw raw
      const list = await this.real.lrange(key, 0, MAX_SEEDED_LIST - 1)
      // lpush puts its items in front in reverse order; reversed first, they keep Redis's order.
      if (list.length > 0) await this.memory.lpush(key, [...list].reverse())
      return
    }
    if (typeof raw === 'string') await this.memory.set(key, raw, undefined, { jsonSerialize: false })
  }
}
