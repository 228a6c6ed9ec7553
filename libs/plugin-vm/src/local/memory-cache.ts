import { PluginCache } from '../interfaces'

interface Entry {
  value: unknown
  expiresAt: number | undefined
}

export interface CacheWrite {
  op: 'set' | 'incr' | 'expire' | 'lpush' | 'lpop' | 'lrem'
  key: string
  value?: unknown
  ttlSeconds?: number
}

/** meta.cache for dry runs and tests: Redis semantics (JSON values, lists of strings) in a Map. */
export class MemoryCache implements PluginCache {
  readonly writes: CacheWrite[] = []
  private entries = new Map<string, Entry>()

  constructor(private readonly now: () => number = Date.now) {}

  private read(key: string): unknown {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.now()) {
      this.entries.delete(key)
      return undefined
    }
    return entry.value
  }

  private write(key: string, value: unknown, ttlSeconds?: number): void {
    this.entries.set(key, { value, expiresAt: ttlSeconds ? this.now() + ttlSeconds * 1000 : undefined })
  }

  async set(key: string, value: unknown, ttlSeconds?: number, options?: { jsonSerialize?: boolean }): Promise<void> {
    const stored = options?.jsonSerialize === false ? String(value) : JSON.stringify(value ?? null)
    this.write(key, stored, ttlSeconds)
    this.writes.push({ op: 'set', key, value, ttlSeconds })
  }

  async get(key: string, defaultValue: unknown, options?: { jsonSerialize?: boolean }): Promise<unknown> {
    const value = this.read(key)
    if (value === undefined) return defaultValue ?? null
    if (options?.jsonSerialize === false || typeof value !== 'string') return value
    try {
      return JSON.parse(value)
    } catch {
      return value
    }
  }

  async incr(key: string): Promise<number> {
    const current = Number(this.read(key) ?? 0)
    if (!Number.isInteger(current)) throw new Error('ERR value is not an integer or out of range')
    const entry = this.entries.get(key)
    this.entries.set(key, { value: String(current + 1), expiresAt: entry?.expiresAt })
    this.writes.push({ op: 'incr', key, value: current + 1 })
    return current + 1
  }

  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    const value = this.read(key)
    if (value === undefined) return false
    this.write(key, value, ttlSeconds)
    this.writes.push({ op: 'expire', key, ttlSeconds })
    return true
  }

  async lpush(key: string, elementOrArray: unknown): Promise<number> {
    const list = (this.read(key) as string[] | undefined) ?? []
    const items = (Array.isArray(elementOrArray) ? elementOrArray : [elementOrArray]).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)))
    const next = [...items.reverse(), ...list]
    this.entries.set(key, { value: next, expiresAt: this.entries.get(key)?.expiresAt })
    this.writes.push({ op: 'lpush', key, value: elementOrArray })
    return next.length
  }

  async lrange(key: string, startIndex: number, endIndex: number): Promise<string[]> {
    const list = (this.read(key) as string[] | undefined) ?? []
    const end = endIndex < 0 ? list.length + endIndex : endIndex
    const start = startIndex < 0 ? Math.max(0, list.length + startIndex) : startIndex
    return list.slice(start, end + 1)
  }

  async llen(key: string): Promise<number> {
    return ((this.read(key) as string[] | undefined) ?? []).length
  }

  async lpop(key: string, count: number): Promise<string[]> {
    const list = (this.read(key) as string[] | undefined) ?? []
    const popped = list.slice(0, Math.max(1, count))
    this.entries.set(key, { value: list.slice(popped.length), expiresAt: this.entries.get(key)?.expiresAt })
    this.writes.push({ op: 'lpop', key, value: count })
    return popped
  }

  /** Redis LREM: count > 0 from the head, < 0 from the tail, 0 all. */
  async lrem(key: string, count: number, element: string): Promise<number> {
    const list = (this.read(key) as string[] | undefined) ?? []
    const order = count < 0 ? [...list.keys()].reverse() : [...list.keys()]
    const limit = count === 0 ? Infinity : Math.abs(count)
    const remove = new Set(order.filter((i) => list[i] === element).slice(0, limit))
    this.entries.set(key, { value: list.filter((_, i) => !remove.has(i)), expiresAt: this.entries.get(key)?.expiresAt })
    this.writes.push({ op: 'lrem', key, value: element })
    return remove.size
  }
}
