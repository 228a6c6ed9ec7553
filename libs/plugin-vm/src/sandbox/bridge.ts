import { runtimeBuffer } from './lazy-modules'
import type { BoundRef, CallReply, ErrorFields, FacadeRef, FacadeShape, ModuleReply, Settled } from '../bridge/wire'
import { FetchError } from './fetch-error'
import { hostAsync, hostFire, hostSync } from './host-link'
import { defineProperty, descriptor } from './intrinsics'

/**
 * Bridged modules (pg, …) as the plugin sees them: objects built here, in the isolate, from the
 * names of what a host facade offers. Their methods, getters and constructors call the host with a
 * facade number; nothing the plugin can reach is a host object, so walking properties, prototypes
 * or constructors only ever finds the isolate's own.
 */
type Fn = (...args: unknown[]) => unknown

const shapes = new Map<string, FacadeShape>()
const handleOf = new WeakMap<object, number>()
const callbacks = new Map<number, Fn>()
const functionIds = new WeakMap<Fn, number>()
let nextCallback = 1
let nextFunction = 1
const registry = typeof FinalizationRegistry === 'function' ? new FinalizationRegistry<number>((id) => hostFire('bridge.release', [id])) : undefined

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}

/** Plugin value → what the host gets: data copied, functions as callback ids, bridged objects as their numbers. */
export function encodeArg(value: unknown, depth = 0): unknown {
  if (depth > 64) throw new TypeError('bridged call argument is nested too deeply')
  if (typeof value === 'function') {
    let fn = functionIds.get(value as Fn)
    if (fn === undefined) functionIds.set(value as Fn, (fn = nextFunction++))
    const id = nextCallback++
    callbacks.set(id, value as Fn)
    return { __psCallback: id, fn }
  }
  if (!isRecord(value)) return typeof value === 'symbol' ? undefined : value
  const handle = handleOf.get(value)
  if (handle !== undefined) return { __psFacade: handle }
  if (value instanceof Uint8Array || value instanceof Date || value instanceof ArrayBuffer) return value
  if (Array.isArray(value)) return value.map((v) => encodeArg(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) out[key] = encodeArg(value[key], depth + 1)
  return out
}

function hostErrorOf(fields: ErrorFields): Error {
  const error = (fields.name === 'FetchError' ? new FetchError(fields.message) : new Error(fields.message)) as Error & Record<string, unknown>
  for (const [key, value] of Object.entries(fields)) if (key !== 'message') error[key] = value
  return error
}

/** Host value → plugin value; `receiver` answers a method returning its own object, `proto` is `new.target.prototype`. */
export function decodeResult(value: unknown, receiver?: object, proto?: object): unknown {
  if (!isRecord(value)) return value
  if (value.__psSelf === true) return receiver
  if (typeof value.__psFacade === 'number') return makeFacade(value as unknown as FacadeRef, proto)
  if (isRecord(value.__psError)) return hostErrorOf(value.__psError as ErrorFields)
  if (isRecord(value.__psBound)) {
    const { __psBound, method } = value as unknown as BoundRef
    const target = makeFacade(__psBound) as Record<string, Fn>
    return (...args: unknown[]) => target[method](...args)
  }
  if (value instanceof Uint8Array) return runtimeBuffer().from(value.buffer, value.byteOffset, value.byteLength)
  if (value instanceof Date || value instanceof ArrayBuffer) return value
  if (Array.isArray(value)) return value.map((v) => decodeResult(v, receiver))
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) out[key] = decodeResult(value[key], receiver)
  return out
}

function settle(reply: CallReply, receiver: object): unknown {
  if ('promise' in reply) {
    return hostAsync('bridge.await', [reply.promise]).then((settled) => {
      const s = settled as Settled
      if (!s.ok) throw hostErrorOf(s.error)
      return decodeResult(s.value, receiver)
    })
  }
  return decodeResult(reply.value, receiver)
}

function handle(object: object): number {
  const id = handleOf.get(object)
  if (id === undefined) throw new TypeError('not a bridged object')
  return id
}

function define(object: object, name: string, fields: PropertyDescriptor): void {
  defineProperty(object, name, descriptor({ configurable: true, ...fields }))
}

function makeConstructor(owner: object, name: string): Fn {
  const ctor = function (this: unknown, ...args: unknown[]) {
    if (!new.target) throw new TypeError(`Class constructor ${name} cannot be invoked without 'new'`)
    return decodeResult(hostSync('bridge.construct', [handle(owner), name, encodeArg(args)]), undefined, new.target.prototype as object)
  }
  define(ctor, 'name', { value: name })
  return ctor
}

function makeFacade(ref: FacadeRef, proto?: object): object {
  if (ref.shape) shapes.set(ref.type, ref.shape)
  const shape = shapes.get(ref.type)
  if (!shape) throw new TypeError(`unknown bridged type ${ref.type}`)
  const object: object = Object.create(proto ?? Object.prototype) as object
  handleOf.set(object, ref.__psFacade)
  registry?.register(object, ref.__psFacade)
  // Each member closes over the object, so a detached method keeps its object (and handle) alive.
  for (const name of shape.methods) {
    const method = { [name]: (...args: unknown[]) => settle(hostSync('bridge.call', [handle(object), name, encodeArg(args)]) as CallReply, object) }[name]
    define(object, name, { value: method, writable: true, enumerable: false })
  }
  for (const name of shape.properties) {
    define(object, name, { get: () => decodeResult(hostSync('bridge.get', [handle(object), name]), object), enumerable: true })
  }
  for (const name of shape.constructors) define(object, name, { value: makeConstructor(object, name), writable: true, enumerable: true })
  return object
}

/** Called by the host when an SDK calls a function the plugin passed in. */
export function runCallback(id: number, args: unknown[]): void {
  const callback = callbacks.get(id)
  if (callback) callback(...(decodeResult(args) as unknown[]))
}

export function releaseCallback(id: number): void {
  callbacks.delete(id)
}

export function requireBridged(name: string): unknown {
  const reply = hostSync('bridge.require', [name]) as ModuleReply
  const offered: string[] = []
  const module = makeFacade(reply.module, missingMembers(reply.module.type, offered)) as Record<string, unknown>
  const shape = shapes.get(reply.module.type)
  if (shape) offered.push(...shape.constructors, ...shape.methods, ...shape.properties)
  return reply.member === undefined ? module : module[reply.member]
}

const NativeProxy = Proxy
const reflectGet = Reflect.get
const hasOwnProperty = Object.hasOwn
const objectPrototype = Object.prototype
const objectCreate = Object.create

/**
 * The prototype of a bridged module's object: reading a client it does not offer (`new AWS.SQS()`,
 * PostHog's Kinesis plugin's `Kinesis`) throws, naming the module, the member and what it offers,
 * instead of a later "is not a constructor". Only capitalised names, the SDKs' classes: esbuild's
 * interop reads `__esModule` and `default`, promise resolution `then`, feature checks lower-case
 * names, and those keep answering undefined (a capitalised feature check, `if (AWS.Kinesis)`, throws
 * too). Object.prototype's members answer as before, and it stays on the chain (`AWS instanceof
 * Object`): the proxy stands for an empty object of its own, whose prototype is Object.prototype.
 */
function missingMembers(module: string, offered: readonly string[]): object {
  return new NativeProxy(objectCreate(objectPrototype) as object, {
    get(target, key, receiver) {
      if (typeof key !== 'string' || hasOwnProperty(objectPrototype, key) || !/^[A-Z]/.test(key)) return reflectGet(target, key, receiver) as unknown
      throw new TypeError(`${module}: "${key}" is not available to plugins (${module} offers: ${offered.join(', ') || 'nothing'})`)
    },
  })
}
