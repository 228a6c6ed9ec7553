import { PluginCache } from '../interfaces'

interface Entry {
  value: string | string[]
  expiresAt: number | undefined
  /** What `charge` was told the entry holds (see entryBytes). */
  bytes: number
}

export interface CacheWrite {
  op: 'set' | 'incr' | 'expire' | 'lpush' | 'lpop' | 'lrem'
  key: string
  value?: unknown
  ttlSeconds?: number
}

export interface MemoryCacheOptions {
  now?: () => number
  /**
   * false: `writes` stays empty. The log keeps every value ever written, overwritten ones too, which
   * a short `plugin run` reports and a long-lived user (a dry run) must not hold.
   */
  keepWrites?: boolean
  /**
   * Told how many bytes an entry's write adds (negative: frees) before it is kept; throwing
   * refuses the write, which then changes nothing.
   */
  charge?: (bytes: number) => void
}

/**
 * A Map entry with its key and object costs more than its text; counted so that many tiny keys are
 * not free (here and by the other in-memory stores a dry run keeps: storage, cursors).
 */
export const ENTRY_OVERHEAD_BYTES = 64

function textBytes(value: string | string[]): number {
  if (typeof value === 'string') return Buffer.byteLength(value)
  let bytes = 0
  for (const item of value) bytes += Buffer.byteLength(item)
  return bytes
}

/** meta.cache for dry runs and tests: Redis semantics (JSON values, lists of strings) in a Map. */
export class MemoryCache implements PluginCache {
  readonly writes: CacheWrite[] = []
  private entries = new Map<string, Entry>()
  private readonly now: () => number

  constructor(private readonly options: MemoryCacheOptions = {}) {
    this.now = options.now ?? Date.now
  }

  private read(key: string): string | string[] | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.now()) {
      this.entries.delete(key)
      this.options.charge?.(-entry.bytes)
      return undefined
    }
    return entry.value
  }

  /** Every change of an entry goes through here, so what `charge` was told always matches what is held. */
  private store(key: string, value: string | string[], expiresAt: number | undefined, valueBytes = textBytes(value)): void {
    const bytes = ENTRY_OVERHEAD_BYTES + Buffer.byteLength(key) + valueBytes
    this.options.charge?.(bytes - (this.entries.get(key)?.bytes ?? 0))
    this.entries.set(key, { value, expiresAt, bytes })
  }

  /** The bytes of an entry's value (a list's items), from what the entry was charged: a long list is not measured again. */
  private valueBytes(key: string): number {
    const entry = this.entries.get(key)
    return entry ? entry.bytes - ENTRY_OVERHEAD_BYTES - Buffer.byteLength(key) : 0
  }

  private log(write: CacheWrite): void {
    if (this.options.keepWrites !== false) this.writes.push(write)
  }

  private expiry(ttlSeconds?: number): number | undefined {
    return ttlSeconds ? this.now() + ttlSeconds * 1000 : undefined
  }

  async set(key: string, value: unknown, ttlSeconds?: number, options?: { jsonSerialize?: boolean }): Promise<void> {
    const stored = options?.jsonSerialize === false ? String(value) : JSON.stringify(value ?? null)
    this.store(key, stored, this.expiry(ttlSeconds))
    this.log({ op: 'set', key, value, ttlSeconds })
  }

  /** As Redis's (plugin-runtime's RedisPluginCache): the stored text of the first keys whose values fit in `maxBytes` together (here counted in characters). */
  async readMany(keys: readonly string[], maxBytes: number): Promise<(string | null | Error | undefined)[]> {
    const answers: (string | null | Error | undefined)[] = []
    let bytes = 0
    for (const key of keys) {
      const value = this.read(key)
      if (Array.isArray(value)) {
        answers.push(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))
        continue
      }
      bytes += value?.length ?? 0
      if (bytes > maxBytes) break
      answers.push(value ?? null)
    }
    while (answers.length < keys.length) answers.push(undefined)
    return answers
  }

  async incr(key: string): Promise<number> {
    const current = Number(this.read(key) ?? 0)
    if (!Number.isInteger(current)) throw new Error('ERR value is not an integer or out of range')
    this.store(key, String(current + 1), this.entries.get(key)?.expiresAt)
    this.log({ op: 'incr', key, value: current + 1 })
    return current + 1
  }

  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    const value = this.read(key)
    if (value === undefined) return false
    this.store(key, value, this.expiry(ttlSeconds), this.valueBytes(key))
    this.log({ op: 'expire', key, ttlSeconds })
    return true
  }

  async lpush(key: string, elementOrArray: unknown): Promise<number> {
    const list = (this.read(key) as string[] | undefined) ?? []
    const items = (Array.isArray(elementOrArray) ? elementOrArray : [elementOrArray]).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)))
    const next = [...items.reverse(), ...list]
    this.store(key, next, this.entries.get(key)?.expiresAt, this.valueBytes(key) + textBytes(items))
    this.log({ op: 'lpush', key, value: elementOrArray })
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
    this.store(key, list.slice(popped.length), this.entries.get(key)?.expiresAt, this.valueBytes(key) - textBytes(popped))
    this.log({ op: 'lpop', key, value: count })
    return popped
  }

  /** Redis LREM: count > 0 from the head, < 0 from the tail, 0 all. */
  async lrem(key: string, count: number, element: string): Promise<number> {
    const list = (this.read(key) as string[] | undefined) ?? []
    const order = count < 0 ? [...list.keys()].reverse() : [...list.keys()]
    const limit = count === 0 ? Infinity : Math.abs(count)
    const remove = new Set(order.filter((i) => list[i] === element).slice(0, limit))
    this.store(
      key,
      list.filter((_, i) => !remove.has(i)),
      this.entries.get(key)?.expiresAt,
      this.valueBytes(key) - remove.size * Buffer.byteLength(element),
    )
    this.log({ op: 'lrem', key, value: element })
    return remove.size
  }
}
