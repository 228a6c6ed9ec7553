import type { Args } from './args'
import type { ByteBudget } from '../byte-budget'
import type { FacadeShape } from './wire'
import type { PrivateKeys } from './private-keys'

/** What a facade's members share with every other facade of the same plugin instance. */
export interface FacadeHost {
  /** A warning in the plugin's logs (an SDK error nobody listened for). */
  warn(message: string): void
  /** The instance's budget for plugin data buffered on the host (chunks of uploads not yet sent), shared by all its facades. */
  readonly held: ByteBudget
  /** The private keys the instance's SDK options carry, each read and decrypted once (private-keys.ts). */
  readonly keys: PrivateKeys
  /** The bytes of responses the instance is receiving (HTTP bodies, pg results), shared with its fetches. */
  readonly responses: ByteBudget
}

/** What a facade's members get besides their arguments. */
export interface CallContext<T extends object> extends FacadeHost {
  /** The facade the member was called on; returning it gives the plugin back the same object (chaining). */
  readonly self: Facade<T>
}

/** A method or constructor of a facade type: our code, given the facade's target and checked arguments. */
export type Member<T extends object> = (target: T, args: Args, ctx: CallContext<T>) => unknown

/**
 * Everything the plugin may do with one kind of host object, by name. Members return plain data,
 * other facades, promises of those, or undefined; never an SDK object.
 */
export interface FacadeType<T extends object> {
  /** `<module>.<Type>`, unique: the sandbox keeps one shape per name. */
  readonly name: string
  readonly methods?: Readonly<Record<string, Member<T>>>
  /** Read-only values (counters). */
  readonly properties?: Readonly<Record<string, (target: T) => unknown>>
  /** Members the plugin calls with `new`; each returns a Facade. */
  readonly constructors?: Readonly<Record<string, Member<T>>>
  /** Frees host resources the plugin left open when its isolate goes away. */
  readonly dispose?: (target: T) => void
  /** True while the target holds no resources (none opened yet, or freed since), so it needs no dispose now. */
  readonly closed?: (target: T) => boolean
}

/** A facade as the bridge sees it, whatever its target type. */
export interface Handed {
  readonly typeName: string
  shape(): FacadeShape
  call(kind: 'methods' | 'constructors', name: string, args: Args, host: FacadeHost): unknown
  read(name: string): unknown
  /** Its type frees resources on dispose: the bridge keeps it until it holds none and the plugin let go of it. */
  readonly closable: boolean
  disposable(): boolean
  dispose(): void
}

function own<V>(record: Readonly<Record<string, V>> | undefined, name: string): V | undefined {
  // Own keys only: `constructor`, `__proto__` or `toString` are never members.
  return record !== undefined && Object.prototype.hasOwnProperty.call(record, name) ? record[name] : undefined
}

/** A host object handed to the plugin as a handle: our target object plus the type that says what may be done with it. */
export class Facade<T extends object = object> implements Handed {
  constructor(
    readonly type: FacadeType<T>,
    readonly target: T,
  ) {}

  get typeName(): string {
    return this.type.name
  }

  shape(): FacadeShape {
    const { methods = {}, properties = {}, constructors = {} } = this.type
    return { methods: Object.keys(methods), properties: Object.keys(properties), constructors: Object.keys(constructors) }
  }

  call(kind: 'methods' | 'constructors', name: string, args: Args, host: FacadeHost): unknown {
    const member = own(this.type[kind], name)
    if (!member) throw new TypeError(`${this.type.name}${kind === 'constructors' ? ': new ' : '.'}${name} is not available to plugins`)
    const result = member(this.target, args, { self: this, warn: host.warn, held: host.held, keys: host.keys, responses: host.responses })
    if (kind === 'constructors' && !(result instanceof Facade)) throw new TypeError(`${this.type.name}: new ${name} gave no facade`)
    return result
  }

  read(name: string): unknown {
    const getter = own(this.type.properties, name)
    if (!getter) throw new TypeError(`${this.type.name}.${name} is not available to plugins`)
    return getter(this.target)
  }

  get closable(): boolean {
    return this.type.dispose !== undefined
  }

  disposable(): boolean {
    return this.type.dispose !== undefined && !this.type.closed?.(this.target)
  }

  dispose(): void {
    if (this.disposable()) this.type.dispose?.(this.target)
  }
}

/** A facade's method handed to the plugin as a function (pg's `release` argument of `pool.connect(cb)`). */
export class BoundMethod {
  constructor(
    readonly facade: Handed,
    readonly method: string,
  ) {}
}

/** The names a facade type offers, whatever its target: every FacadeType is one. */
export interface FacadeMembers {
  readonly name: string
  readonly methods?: object
  readonly properties?: object
  readonly constructors?: object
}

/**
 * One bridged module: how the host gets the SDK, the facade `require(name)` gives the plugin, and
 * which deep imports stand for which member of it. Adding a module is one file with one of these.
 */
export interface ModuleSpec<S = unknown> {
  readonly name: string
  /** The SDK on the host; `PluginHost.loadHostModule` may supply another (a fake in tests). */
  load(): S
  /** The facade `require(name)` gives the plugin, of type rootType. */
  root(sdk: S): Handed
  /** What `import { Member } from name` may name: checked against a plugin's imports at install. */
  readonly rootType: FacadeMembers
  /** Deep imports allowed (`aws-sdk/clients/s3`), each naming the root member it stands for (`S3`). */
  readonly paths?: Readonly<Record<string, string>>
}
