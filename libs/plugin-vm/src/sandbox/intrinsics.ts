/**
 * Built-ins the runtime uses while running calls and batches, captured when the runtime is
 * evaluated: before any plugin code runs. A plugin shares this realm and may replace globals and
 * prototype methods (JSON.stringify, Array.prototype.join, Promise.prototype.then, String, …); what
 * the runtime needs must keep working whatever it did, so a plugin can only spoil its own results.
 *
 * Besides these, the runtime avoids anything that looks a property up at call time: no spread or
 * for…of (array iterators), no array methods, no `instanceof` (Symbol.hasInstance), and the objects
 * it serialises have no prototype (Object.prototype.toJSON would otherwise apply to them).
 */

type Uncurried<F> = F extends (this: infer T, ...args: infer A) => infer R ? (self: T, ...args: A) => R : never

const uncurry = <F extends (...args: never[]) => unknown>(fn: F): Uncurried<F> => Function.prototype.call.bind(fn) as unknown as Uncurried<F>

export const stringify = JSON.stringify
export const parse = JSON.parse
export const objectKeys = Object.keys
export const hasOwn = Object.hasOwn
export const objectCreate = Object.create
export const setPrototypeOf = Object.setPrototypeOf
export const defineProperty = Object.defineProperty
export const isArray = Array.isArray
export const reflectApply = Reflect.apply
export const toStringValue = String
export const NativePromise = Promise
export const NativeMap = Map
export const NativeFunction = Function
export const mapGet = uncurry(Map.prototype.get as (this: Map<unknown, unknown>, key: unknown) => unknown)
export const mapSet = uncurry(Map.prototype.set as (this: Map<unknown, unknown>, key: unknown, value: unknown) => Map<unknown, unknown>)
export const stringToLowerCase = uncurry(String.prototype.toLowerCase as (this: string) => string)
export const stringSlice = uncurry(String.prototype.slice as (this: string, start?: number, end?: number) => string)
/** `then` of the built-in Promise: on the runtime's own promises (see ownPromise), never the plugin's replacement. */
export const promiseThen = uncurry(
  Promise.prototype.then as (this: Promise<unknown>, onValue: (value: unknown) => unknown, onError: (error: unknown) => unknown) => Promise<unknown>,
)
export const isPrototypeOf = uncurry(Object.prototype.isPrototypeOf as (this: object, value: unknown) => boolean)
export const errorPrototype: object = Error.prototype
export const NativeUint8Array = Uint8Array
/** A typed array's byteLength, read through the built-in getter (a plugin may redefine the property). */
export const typedArrayByteLength = uncurry(
  Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype) as object, 'byteLength')!.get! as (this: ArrayBufferView) => number,
)

/** An empty object without a prototype: no inherited setters, getters or toJSON. */
export function bare<T extends object>(): T {
  return objectCreate(null) as T
}

/** The same object, its prototype removed (arrays stay arrays for JSON). */
export function detached<T extends object>(value: T): T {
  setPrototypeOf(value, null)
  return value
}

/**
 * A property descriptor for `defineProperty` at call time, without a prototype: defineProperty reads
 * `get`, `set`, `value` and the flags through the prototype chain, so a descriptor literal would
 * take whatever a plugin put on Object.prototype (a `get` there makes every `{ value }` invalid).
 */
export function descriptor(fields: PropertyDescriptor): PropertyDescriptor {
  return detached(fields)
}

const UNDEFINED_CONSTRUCTOR = descriptor({ value: undefined })

/**
 * A promise of the runtime's own. Its own `constructor` is undefined, so `then` on it (isolated-vm
 * waits on it that way) uses the built-in Promise even if the plugin replaced
 * Promise.prototype.constructor or Promise[Symbol.species].
 */
export function ownPromise<T>(executor: (resolve: (value: T) => void) => void): Promise<T> {
  const promise = new NativePromise<T>(executor)
  defineProperty(promise, 'constructor', UNDEFINED_CONSTRUCTOR)
  return promise
}
