import { byteSize } from './byte-size'

export interface StoreLimits {
  /** Bytes of a cache, storage or cursor key (PLUGIN_CACHE_MAX_KEY_BYTES). */
  cacheMaxKeyBytes: number
  /** Bytes of a cache value, `set` or `lpush` (PLUGIN_CACHE_MAX_VALUE_BYTES). */
  cacheMaxValueBytes: number
  /** Bytes of a storage value (PLUGIN_STORAGE_MAX_VALUE_BYTES). */
  storageMaxValueBytes: number
}

const REPORT_EVERY_MS = 60_000

/**
 * Size checks on what a plugin writes to `meta.cache`, `meta.storage` and `meta.utils.cursor`,
 * made on the host before any store sees it. A refused write rejects the plugin's promise; the
 * same message goes to the plugin's logs, at most once a minute per limit so a plugin refused on
 * every event does not flood them.
 */
export class StoreBounds {
  private readonly reportedAt = new Map<string, number>()

  constructor(
    private readonly limits: StoreLimits,
    private readonly report: (message: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  key(op: string, key: unknown): string {
    const max = this.limits.cacheMaxKeyBytes
    if (byteSize(key, max) - (typeof key === 'string' ? 2 : 0) > max) this.refuse(`${op}: the key is larger than ${max} bytes`, 'PLUGIN_CACHE_MAX_KEY_BYTES')
    return String(key)
  }

  cacheValue(op: string, value: unknown): void {
    this.value(op, value, this.limits.cacheMaxValueBytes, 'PLUGIN_CACHE_MAX_VALUE_BYTES')
  }

  storageValue(op: string, value: unknown): void {
    this.value(op, value, this.limits.storageMaxValueBytes, 'PLUGIN_STORAGE_MAX_VALUE_BYTES')
  }

  private value(op: string, value: unknown, max: number, variable: string): void {
    if (byteSize(value, max) > max) this.refuse(`${op}: the value is larger than ${max} bytes`, variable)
  }

  private refuse(problem: string, variable: string): never {
    const message = `${problem} (${variable})`
    const now = this.now()
    if (now - (this.reportedAt.get(variable) ?? -Infinity) >= REPORT_EVERY_MS) {
      this.reportedAt.set(variable, now)
      this.report(message)
    }
    throw new RangeError(message)
  }
}
