/**
 * What crosses between the capability bridge (host) and the sandbox's bridged objects. Only data
 * crosses: a facade is a number and the names of what it offers; the sandbox builds its own objects
 * from that, so nothing the plugin holds is a host object.
 */

/** What a facade type offers; sent the first time the isolate meets the type. */
export interface FacadeShape {
  methods: string[]
  /** Read-only values, read from the host on each access. */
  properties: string[]
  /** Members used with `new` (`new pg.Client()`), each giving a new facade. */
  constructors: string[]
}

export interface FacadeRef {
  __psFacade: number
  type: string
  shape?: FacadeShape
}

/** The object a method was called on (`client.on(...)` returns `client`). */
export interface SelfRef {
  __psSelf: true
}

/** A method of a facade handed over as a function (pg's `release` in `pool.connect(cb)`). */
export interface BoundRef {
  __psBound: FacadeRef
  method: string
}

/** A host error as the plugin sees it: name, message, code and the SDK's other plain fields; an `errors` list as JSON data. */
export interface ErrorFields {
  name: string
  message: string
  [field: string]: string | number | boolean | null | unknown[]
}

export interface ErrorRef {
  __psError: ErrorFields
}

/** A plugin function passed to the host; `fn` is the same for every pass of the same function. */
export interface CallbackRef {
  __psCallback: number
  fn: number
}

/** A facade the plugin passes back as an argument. */
export interface HandleArg {
  __psFacade: number
}

/** A bridged call answers a value, or a promise the sandbox awaits with `bridge.await`. */
export type CallReply = { value: unknown } | { promise: number }

/** `bridge.await` never rejects: the SDK's error comes back as data, with its fields. */
export type Settled = { ok: true; value: unknown } | { ok: false; error: ErrorFields }

/** `require(name)`: the module's facade, or one member of it for a deep import (`aws-sdk/clients/s3`). */
export interface ModuleReply {
  module: FacadeRef
  member?: string
}
