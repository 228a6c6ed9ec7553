import { byteSize } from './byte-size'

export interface StoreLimits {
  /** Bytes of a cache, storage or cursor key (PLUGIN_CACHE_MAX_KEY_BYTES). */
  cacheMaxKeyBytes: number
  /** Bytes of a cache value, `set` or `lpush` (PLUGIN_CACHE_MAX_VALUE_BYTES). */
  cacheMaxValueBytes: number
  /** Bytes of a storage value (PLUGIN_STORAGE_MAX_VALUE_BYTES). */
  storageMaxValueBytes: number
  /** Bytes of a job's payload (PLUGIN_JOB_MAX_PAYLOAD_BYTES). */
  jobMaxPayloadBytes: number
  /** Bytes of all values written in one turn of the host's event loop, a crossing's (PLUGIN_HOST_WORK_MAX_BYTES). */
  hostWorkMaxBytes: number
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
  /**
   * What this turn's writes carry together. One object passed to a thousand `cache.set` calls in one
   * turn crosses once, each within its limit, and the host would encode it a thousand times.
   */
  private turnBytes = 0

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

  /** A job waits in the Redis every team shares, and each worker that runs it parses it and copies it into an isolate. */
  jobPayload(op: string, value: unknown): void {
    this.value(op, value, this.limits.jobMaxPayloadBytes, 'PLUGIN_JOB_MAX_PAYLOAD_BYTES', 'payload')
  }

  private value(op: string, value: unknown, max: number, variable: string, what = 'value'): void {
    // As the host will encode it: JSON, byte arrays element by element.
    const bytes = byteSize(value, max, true)
    if (bytes > max) this.refuse(`${op}: the ${what} is larger than ${max} bytes`, variable)
    const turnMax = this.limits.hostWorkMaxBytes
    // The checks of one crossing run in one synchronous stretch (HostDispatcher): a microtask ends the turn.
    if (this.turnBytes === 0) queueMicrotask(() => (this.turnBytes = 0))
    if (this.turnBytes + bytes > turnMax)
      this.refuse(`${op}: the values written at once are larger than ${turnMax} bytes together`, 'PLUGIN_HOST_WORK_MAX_BYTES')
    this.turnBytes += bytes
  }

  private refuse(problem: string, variable: string): never {
    throw this.refusal(problem, variable)
  }

  /** The error refusing `problem`, which `variable` bounds; the plugin's logs say it too, once a minute per variable. */
  refusal(problem: string, variable: string): RangeError {
    const message = `${problem} (${variable})`
    const now = this.now()
    if (now - (this.reportedAt.get(variable) ?? -Infinity) >= REPORT_EVERY_MS) {
      this.reportedAt.set(variable, now)
      this.report(message)
    }
    return new RangeError(message)
  }
}
