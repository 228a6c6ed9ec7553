import { Callback } from './callback'
import { BoundMethod, Facade, Handed } from './facade'
import type { ErrorFields, FacadeRef } from './wire'

const MAX_DEPTH = 64
const MAX_ERROR_FIELDS = 32
/** An `errors` list (BigQuery's per-row insert errors, an API's error list) crosses as JSON data up to this size. */
const MAX_ERRORS_CHARS = 64 * 1024

/** What encoding and decoding need from the bridge: handles for facades, callbacks for plugin functions. */
export interface CodecHost {
  refFor(facade: Handed): FacadeRef
  facade(handle: number): Handed
  callback(id: number, fn: number): Callback
}

/** The name, message and plain fields (code, detail, …) of anything thrown; never the host stack. */
export function errorFields(error: unknown): ErrorFields {
  try {
    if (!(error instanceof Error)) return { name: 'Error', message: String(error) }
    const fields: ErrorFields = { name: String(error.name), message: String(error.message) }
    let count = 0
    for (const [key, value] of Object.entries(error)) {
      if (key === 'stack' || key === 'name' || key === 'message' || count >= MAX_ERROR_FIELDS) continue
      if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        fields[key] = value
        count++
      } else if (key === 'errors' && Array.isArray(value)) {
        const list = jsonList(value)
        if (list) fields[key] = list
      }
    }
    return fields
  } catch {
    return { name: 'Error', message: 'an error the host could not describe' }
  }
}

/** A copy of a list as JSON data, or undefined when it is not data or too big. */
function jsonList(value: unknown[]): unknown[] | undefined {
  try {
    const text = JSON.stringify(value)
    return text.length <= MAX_ERRORS_CHARS ? (JSON.parse(text) as unknown[]) : undefined
  } catch {
    return undefined
  }
}

/**
 * Host value → what crosses into the isolate: copies of plain data, references for facades, and
 * nothing else. Functions and symbols become undefined; an object that is neither a facade nor an
 * error is copied as its own enumerable data, so no host object or function ever crosses.
 */
export function encode(value: unknown, host: CodecHost, self?: Handed, depth = 0): unknown {
  if (value === null || value === undefined || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value
  if (typeof value === 'bigint') return value.toString()
  if (typeof value !== 'object') return undefined
  if (depth > MAX_DEPTH) throw new TypeError('a bridged result is nested too deeply')
  if (value instanceof Facade) return value === self ? { __psSelf: true } : host.refFor(value)
  if (value instanceof BoundMethod) return { __psBound: host.refFor(value.facade), method: value.method }
  if (value instanceof Error) return { __psError: errorFields(value) }
  if (value instanceof Uint8Array) return new Uint8Array(value)
  if (value instanceof ArrayBuffer) return value.slice(0)
  if (value instanceof Date) return new Date(value.getTime())
  if (Array.isArray(value)) return value.map((v) => encode(v, host, self, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(value)) {
    if (typeof inner !== 'function') define(out, key, encode(inner, host, self, depth + 1))
  }
  return out
}

/** Isolate value → host value: plugin functions become Callbacks, bridged objects passed back their facades. */
export function decode(value: unknown, host: CodecHost, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value
  if (depth > MAX_DEPTH) throw new TypeError('a bridged call argument is nested too deeply')
  const record = value as Record<string, unknown>
  if (typeof record.__psCallback === 'number' && typeof record.fn === 'number') return host.callback(record.__psCallback, record.fn)
  if (typeof record.__psFacade === 'number') return host.facade(record.__psFacade)
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  if (value instanceof Date || value instanceof ArrayBuffer) return value
  if (Array.isArray(value)) return value.map((v) => decode(v, host, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(record)) define(out, key, decode(inner, host, depth + 1))
  return out
}

/** Like `out[key] = value`, but a key named `__proto__` stays data instead of replacing the prototype. */
function define(out: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
}
