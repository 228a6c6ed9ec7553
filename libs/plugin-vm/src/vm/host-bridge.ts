/**
 * Host side of bridged modules: SDK objects stay in the host and the sandbox holds numeric handles.
 * This boundary is weaker than the isolate's, so property names that lead to host internals
 * (constructors, prototypes, private fields) and host globals are refused.
 */
const BLOCKED_PROPERTIES = new Set([
  'constructor',
  '__proto__',
  'prototype',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
  'caller',
  'callee',
  'arguments',
  'mainModule',
  'require',
  'process',
  'global',
  'globalThis',
])
const BLOCKED_VALUES = new Set<unknown>([process, globalThis, Function, eval, require, module, Object, Reflect, Proxy])
const MAX_DEPTH = 16

export type CallbackInvoker = (id: number, args: unknown) => void

export class HostModuleBridge {
  private handles = new Map<number, unknown>()
  private promises = new Map<number, Promise<unknown>>()
  private nextId = 1
  private readonly finalizer: FinalizationRegistry<number>

  constructor(
    private readonly loadModule: (name: string) => unknown,
    private readonly invokeCallback: CallbackInvoker,
    releaseCallback: (id: number) => void,
  ) {
    this.finalizer = new FinalizationRegistry(releaseCallback)
  }

  require(name: string): unknown {
    return this.encode(this.loadModule(name), 0)
  }

  get(handle: number, prop: string): unknown {
    const target = this.target(handle)
    // Interop probes from compiled ESM imports; answering "absent" keeps `import * as` working.
    if (prop === '__esModule') return { value: undefined }
    this.checkProperty(prop)
    const value = (target as Record<string, unknown>)[prop]
    // Lower-case functions are methods (keep `this`); capitalised ones are classes (need `new`).
    if (typeof value === 'function' && !BLOCKED_VALUES.has(value) && !/^[A-Z]/.test(prop)) return { method: true }
    return { value: this.encode(value, 0) }
  }

  set(handle: number, prop: string, value: unknown): void {
    this.checkProperty(prop)
    ;(this.target(handle) as Record<string, unknown>)[prop] = this.decode(value, 0)
  }

  has(handle: number, prop: string): boolean {
    return !this.isBlocked(prop) && prop in (this.target(handle) as object)
  }

  keys(handle: number): string[] {
    return Object.keys(this.target(handle) as object).filter((key) => !this.isBlocked(key))
  }

  call(handle: number, method: string | null, args: unknown): unknown {
    const target = this.target(handle) as Record<string, unknown>
    const decoded = this.decode(args, 0) as unknown[]
    let result: unknown
    if (method === null) {
      if (typeof target !== 'function') throw new TypeError('bridged value is not a function')
      result = (target as unknown as (...a: unknown[]) => unknown)(...decoded)
    } else {
      this.checkProperty(method)
      const fn = target[method]
      if (typeof fn !== 'function' || BLOCKED_VALUES.has(fn)) throw new TypeError(`${method} is not a function`)
      result = (fn as (...a: unknown[]) => unknown).apply(target, decoded)
    }
    if (
      result instanceof Promise ||
      (typeof result === 'object' && result !== null && typeof (result as PromiseLike<unknown>).then === 'function' && !this.isSdkRequest(result))
    ) {
      const id = this.nextId++
      this.promises.set(id, Promise.resolve(result as PromiseLike<unknown>))
      return { promise: id }
    }
    return { value: this.encode(result, 0) }
  }

  construct(handle: number, args: unknown): unknown {
    const Target = this.target(handle) as new (...a: unknown[]) => unknown
    if (typeof Target !== 'function') throw new TypeError('bridged value is not a constructor')
    return this.encode(new Target(...(this.decode(args, 0) as unknown[])), 0)
  }

  async await(id: number): Promise<unknown> {
    const promise = this.promises.get(id)
    if (!promise) throw new Error('unknown bridged promise')
    this.promises.delete(id)
    return this.encode(await promise, 0)
  }

  release(handle: number): void {
    this.handles.delete(handle)
  }

  clear(): void {
    this.handles.clear()
    this.promises.clear()
  }

  get size(): number {
    return this.handles.size
  }

  /** aws-sdk v2 Requests are thenable-looking objects that must stay handles (`.promise()`). */
  private isSdkRequest(value: unknown): boolean {
    return typeof (value as { promise?: unknown }).promise === 'function' && typeof (value as { send?: unknown }).send === 'function'
  }

  private isBlocked(prop: string): boolean {
    return BLOCKED_PROPERTIES.has(prop) || prop.startsWith('_')
  }

  private checkProperty(prop: string): void {
    if (this.isBlocked(prop)) throw new TypeError(`property ${prop} of a bridged module is not accessible`)
  }

  private target(handle: number): unknown {
    if (!this.handles.has(handle)) throw new Error('bridged object was released')
    return this.handles.get(handle)
  }

  private encode(value: unknown, depth: number): unknown {
    if (value === null || value === undefined || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value
    if (typeof value === 'bigint') return value.toString()
    if (typeof value === 'symbol') return undefined
    if (BLOCKED_VALUES.has(value)) return undefined
    if (value instanceof Uint8Array) return new Uint8Array(value)
    if (value instanceof Date) return new Date(value.getTime())
    if (Array.isArray(value) && depth < MAX_DEPTH) return value.map((v) => this.encode(v, depth + 1))
    const proto = typeof value === 'object' ? Object.getPrototypeOf(value) : undefined
    if ((proto === Object.prototype || proto === null) && depth < MAX_DEPTH) {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value as object)) out[k] = this.encode(v, depth + 1)
      return out
    }
    if (value instanceof Error) return { name: value.name, message: value.message, code: (value as { code?: unknown }).code }
    const id = this.nextId++
    this.handles.set(id, value)
    return { __psHandle: id, fn: typeof value === 'function' }
  }

  private decode(value: unknown, depth: number): unknown {
    if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return value
    const record = value as Record<string, unknown>
    if (typeof record.__psHandle === 'number') return this.target(record.__psHandle)
    if (typeof record.__psCallback === 'number') return this.callback(record.__psCallback)
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    if (value instanceof Date || value instanceof ArrayBuffer) return value
    if (Array.isArray(value)) return value.map((v) => this.decode(v, depth + 1))
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(record)) out[k] = this.decode(v, depth + 1)
    return out
  }

  private callback(id: number): (...args: unknown[]) => void {
    const fn = (...args: unknown[]) => this.invokeCallback(id, this.encode(args, 0))
    // When the SDK drops the callback, the sandbox can drop its function too.
    this.finalizer.register(fn, id)
    return fn
  }
}
