import { redact } from '@plugin-server/secrets'
import type { JsonValue } from './interfaces'

export interface SafeLimits {
  maxString: number
  maxItems: number
  maxDepth: number
}

/** Host call arguments and results: enough to see what was asked, never a whole upload. */
export const CALL_LIMITS: SafeLimits = { maxString: 2000, maxItems: 50, maxDepth: 8 }
/** Events (input, outputs): shown nearly whole; the input is already bounded in size. */
export const EVENT_LIMITS: SafeLimits = { maxString: 20_000, maxItems: 1000, maxDepth: 20 }
export const MAX_LOG_MESSAGE = 10_000

export const SECRET_MARK = '[secret]'

/**
 * Everything a dry run returns goes through one of these exactly once: secret config values are
 * replaced before anything is cut (so a cut cannot leave half a secret), then values are made
 * plain JSON and bounded. Repeated scrubbing is avoided because "[secret]" may contain a short secret.
 */
export class Redactor {
  private readonly secrets: string[]

  constructor(secrets: Iterable<string>) {
    this.secrets = [...new Set(secrets)]
  }

  text(value: string, max = Infinity): string {
    const out = redact(value, this.secrets, SECRET_MARK)
    return out.length > max ? `${out.slice(0, max)}… (${out.length - max} more characters)` : out
  }

  json(value: unknown, limits: SafeLimits = CALL_LIMITS): JsonValue {
    return this.walk(value, limits, 0, new WeakSet())
  }

  private walk(value: unknown, limits: SafeLimits, depth: number, seen: WeakSet<object>): JsonValue {
    if (value === null || value === undefined) return null
    if (typeof value === 'string') return this.text(value, limits.maxString)
    if (typeof value === 'boolean') return value
    if (typeof value === 'number') return Number.isFinite(value) ? value : String(value)
    if (typeof value === 'bigint') return value.toString()
    if (typeof value !== 'object') return `[${typeof value}]`
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString()
    if (value instanceof Uint8Array || value instanceof ArrayBuffer) return `[binary, ${value.byteLength} bytes]`
    if (value instanceof Error) return this.text(`${value.name}: ${value.message}`, limits.maxString)
    if (seen.has(value)) return '[circular]'
    if (depth >= limits.maxDepth) return '[…]'
    seen.add(value)
    try {
      if (Array.isArray(value) || value instanceof Set) return this.list([...value], limits, depth, seen)
      const entries = value instanceof Map ? [...value.entries()].map(([k, v]) => [String(k), v] as const) : Object.entries(value)
      const out: Record<string, JsonValue> = {}
      for (const [key, item] of entries.slice(0, limits.maxItems)) {
        if (item !== undefined) out[this.text(key, 200)] = this.walk(item, limits, depth + 1, seen)
      }
      if (entries.length > limits.maxItems) out['…'] = `${entries.length - limits.maxItems} more keys`
      return out
    } finally {
      seen.delete(value)
    }
  }

  private list(items: unknown[], limits: SafeLimits, depth: number, seen: WeakSet<object>): JsonValue[] {
    const out = items.slice(0, limits.maxItems).map((item) => this.walk(item, limits, depth + 1, seen))
    if (items.length > limits.maxItems) out.push(`… ${items.length - limits.maxItems} more items`)
    return out
  }
}
