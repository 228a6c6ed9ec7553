import { hostAsync, hostFire, hostSync } from './host-link'

/**
 * Proxies for host-side SDK objects (pg, snowflake-sdk, aws-sdk, @google-cloud/*). Calls go to the
 * host synchronously; when the host method returns a promise the proxy returns a sandbox promise
 * for it, so `new Client()` stays synchronous and `await client.query()` works.
 */
interface HandleRef {
  __psHandle: number
  fn: boolean
}
interface CallbackRef {
  __psCallback: number
}

const handleOf = new WeakMap<object, number>()
const callbacks = new Map<number, (...args: unknown[]) => unknown>()
let nextCallback = 1
const registry = typeof FinalizationRegistry === 'function' ? new FinalizationRegistry<number>((id) => hostFire('bridge.release', [id])) : undefined

function isHandle(value: unknown): value is HandleRef {
  return typeof value === 'object' && value !== null && typeof (value as HandleRef).__psHandle === 'number'
}

export function encodeArg(value: unknown, depth = 0): unknown {
  if (depth > 32) throw new Error('bridged call argument is nested too deeply')
  if (typeof value === 'function') {
    const handle = handleOf.get(value)
    if (handle !== undefined) return { __psHandle: handle, fn: true }
    const id = nextCallback++
    callbacks.set(id, value as (...args: unknown[]) => unknown)
    return { __psCallback: id } satisfies CallbackRef
  }
  if (typeof value !== 'object' || value === null) return value
  const handle = handleOf.get(value)
  if (handle !== undefined) return { __psHandle: handle, fn: false }
  if (value instanceof Uint8Array || value instanceof Date || value instanceof ArrayBuffer) return value
  if (Array.isArray(value)) return value.map((v) => encodeArg(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) out[key] = encodeArg((value as Record<string, unknown>)[key], depth + 1)
  return out
}

export function decodeResult(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (isHandle(value)) return makeProxy(value.__psHandle, value.fn)
  if (value instanceof Uint8Array || value instanceof Date) return value
  if (Array.isArray(value)) return value.map(decodeResult)
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) out[key] = decodeResult((value as Record<string, unknown>)[key])
  return out
}

function settle(reply: unknown): unknown {
  const r = reply as { promise?: number; value?: unknown }
  if (r.promise !== undefined) return hostAsync('bridge.await', [r.promise]).then(decodeResult)
  return decodeResult(r.value)
}

function invoke(handle: number, method: string | null, args: unknown[]): unknown {
  return settle(hostSync('bridge.call', [handle, method, encodeArg(args)]))
}

function makeProxy(handle: number, isFunction: boolean): object {
  const target = isFunction ? function bridged() {} : {}
  const proxy: object = new Proxy(target, {
    get(_t, prop) {
      if (typeof prop === 'symbol' || prop === 'then') return undefined
      const value = hostSync('bridge.get', [handle, prop]) as { method?: boolean; value?: unknown }
      if (value.method) return (...args: unknown[]) => invoke(handle, prop, args)
      return decodeResult(value.value)
    },
    set(_t, prop, value) {
      if (typeof prop === 'symbol') return false
      hostSync('bridge.set', [handle, prop, encodeArg(value)])
      return true
    },
    has(_t, prop) {
      return typeof prop === 'string' && Boolean(hostSync('bridge.has', [handle, prop]))
    },
    apply(_t, _this, args) {
      return invoke(handle, null, args)
    },
    // Needed for `import * as pg from 'pg'`: esbuild copies the module's own keys.
    ownKeys() {
      const keys = hostSync('bridge.keys', [handle]) as string[]
      return isFunction ? [...new Set([...keys, 'prototype'])] : keys
    },
    getOwnPropertyDescriptor(t, prop) {
      if (isFunction && prop === 'prototype') return Reflect.getOwnPropertyDescriptor(t, prop)
      if (typeof prop === 'symbol') return undefined
      return { value: proxy[prop as keyof typeof proxy], enumerable: true, configurable: true, writable: true }
    },
    construct(_t, args) {
      return decodeResult(hostSync('bridge.construct', [handle, encodeArg(args)])) as object
    },
  })
  handleOf.set(proxy, handle)
  registry?.register(proxy, handle)
  return proxy
}

/** Called by the host when an SDK invokes a callback the plugin passed in. */
export function runCallback(id: number, args: unknown[]): void {
  const callback = callbacks.get(id)
  if (callback) callback(...(decodeResult(args) as unknown[]))
}

export function releaseCallback(id: number): void {
  callbacks.delete(id)
}

export function requireBridged(name: string): unknown {
  return decodeResult(hostSync('bridge.require', [name]))
}
