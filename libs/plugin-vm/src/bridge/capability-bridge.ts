import { bridgedRoot } from '../modules'
import type { ByteBudget } from '../byte-budget'
import type { AddressPolicy } from '../net/address-policy'
import { outsideAddressPolicy, SocketCount, withAddressPolicy } from '../net/socket-guard'
import { Args } from './args'
import { Callback } from './callback'
import type { FacadeHost, Handed, ModuleSpec } from './facade'
import { MAX_UPLOAD_BYTES } from './google-storage-upload'
import { MODULE_SPECS } from './specs'
import { CodecHost, decode, encode, errorFields } from './wire-codec'
import type { CallReply, FacadeRef, ModuleReply, Settled } from './wire'
import { PrivateKeys } from './private-keys'

export interface CapabilityBridgeOptions {
  /** The instance's address policy: every socket a bridged call opens, now or later, is checked against it. */
  policy: AddressPolicy
  /** `PluginHost.loadHostModule`: the SDK for a module (or a fake); undefined when not installed. */
  loadModule?: (name: string) => unknown
  /** Queues a call of the plugin function `id` in the isolate. */
  invokeCallback(id: number, args: unknown): void
  /** The host no longer holds the plugin function `id`. */
  releaseCallback(id: number): void
  /** A warning in the plugin's logs. */
  warn(message: string): void
  specs?: Readonly<Record<string, ModuleSpec>>
  /** What the instance's upload streams may hold on the host together; MAX_UPLOAD_BYTES (one upload's cap) by default. */
  maxHeldBytes?: number
  /** What those bytes also count against, shared with other instances (PluginInstanceOptions.shared's `held`). */
  heldWithin?: ByteBudget
  /** The instance's open sockets, shared with its fetches; a count of the bridge's own by default. */
  sockets?: SocketCount
  /** The bytes of responses the instance's SDKs are receiving, shared with its fetches; MAX_RESPONSE_BYTES of its own by default. */
  responses?: ByteBudget
}

/** Response bytes a bridge receives at once when not given the instance's budget (its maxFetchBytes's default). */
const MAX_RESPONSE_BYTES = 50 * 1024 * 1024

interface Entry {
  facade: Handed
  /** The module the facade came from: it labels refusals of the sockets its calls open. */
  module: string
}

/**
 * Host side of bridged modules. The plugin only ever holds numbers for facades (our objects, see
 * facade.ts); a call names a method, constructor or property its type declares, and runs our code
 * under the instance's address policy. Results cross as data. Every promise gets its handler when it
 * is made, and every call into the plugin is queued and caught, so nothing a plugin does through
 * the bridge can throw on the host outside its own call.
 */
export class CapabilityBridge {
  private readonly handles = new Map<number, Entry>()
  private readonly promises = new Map<number, Promise<Settled>>()
  private readonly described = new Set<string>()
  private readonly disposables = new Set<Handed>()
  /** How many handles the plugin holds of each facade: one facade may be handed out more than once. */
  private readonly handedOut = new Map<Handed, number>()
  private readonly finalizer: FinalizationRegistry<number>
  private readonly specs: Readonly<Record<string, ModuleSpec>>
  private nextId = 1
  private cleared = false
  private readonly host: FacadeHost
  private readonly sockets: SocketCount
  private readonly responses: ByteBudget

  constructor(private readonly options: CapabilityBridgeOptions) {
    this.specs = options.specs ?? MODULE_SPECS
    this.sockets = options.sockets ?? new SocketCount()
    this.responses = options.responses ?? { bytes: 0, limit: MAX_RESPONSE_BYTES }
    this.host = {
      warn: this.warn,
      held: { bytes: 0, limit: options.maxHeldBytes ?? MAX_UPLOAD_BYTES, within: options.heldWithin },
      keys: new PrivateKeys(),
      responses: this.responses,
    }
    this.finalizer = new FinalizationRegistry((id) => {
      if (!this.cleared) options.releaseCallback(id)
    })
  }

  require(name: string): ModuleReply {
    const root = bridgedRoot(name)
    const spec = root === undefined || !Object.prototype.hasOwnProperty.call(this.specs, root) ? undefined : this.specs[root]
    if (root === undefined || spec === undefined) throw new Error(`module ${name} is not installed on this server`)
    const member = name === root ? undefined : own(spec.paths, name)
    if (name !== root && member === undefined) throw new Error(`module "${name}" is not available to plugins; import "${root}"`)
    const sdk = this.loadSdk(root, spec)
    const facade = withAddressPolicy(this.options.policy, root, () => spec.root(sdk), this.sockets, this.responses)
    return { module: this.ref(facade, root), member }
  }

  construct(handle: number, name: string, args: unknown): unknown {
    const entry = this.entry(handle)
    const what = `${entry.facade.typeName}: new ${name}`
    const result = this.run(entry, () => entry.facade.call('constructors', name, this.args(args, what, entry), this.host))
    return this.encode(result, entry)
  }

  call(handle: number, method: string, args: unknown): CallReply {
    const entry = this.entry(handle)
    const what = `${entry.facade.typeName}.${method}`
    const result = this.run(entry, () => entry.facade.call('methods', method, this.args(args, what, entry), this.host))
    if (!(result instanceof Promise)) return { value: this.encode(result, entry) }
    const id = this.nextId++
    // Handled now: the SDK may reject before (or without) the plugin ever awaiting it.
    this.promises.set(
      id,
      result.then(
        (value): Settled => {
          try {
            return { ok: true, value: this.encode(value, entry) }
          } catch (error) {
            return { ok: false, error: errorFields(error) }
          }
        },
        (error: unknown): Settled => ({ ok: false, error: errorFields(error) }),
      ),
    )
    return { promise: id }
  }

  get(handle: number, name: string): unknown {
    const entry = this.entry(handle)
    return this.encode(
      this.run(entry, () => entry.facade.read(name)),
      entry,
    )
  }

  /** Never rejects: an SDK failure comes back as data with its fields, for the sandbox to rethrow. */
  await(id: number): Promise<Settled> {
    const promise = this.promises.get(id)
    this.promises.delete(id)
    return promise ?? Promise.resolve({ ok: false, error: { name: 'Error', message: 'unknown bridged promise' } })
  }

  release(handle: number): void {
    const entry = this.handles.get(handle)
    this.handles.delete(handle)
    if (!entry) return
    const left = (this.handedOut.get(entry.facade) ?? 1) - 1
    if (left > 0) return void this.handedOut.set(entry.facade, left)
    this.handedOut.delete(entry.facade)
    // The plugin can no longer make it open anything: once it holds nothing, nothing is left to close.
    if (!entry.facade.disposable()) this.disposables.delete(entry.facade)
  }

  /** The isolate is gone: SDK resources the plugin left open are closed, and later SDK callbacks go nowhere. */
  clear(): void {
    this.cleared = true
    for (const facade of this.disposables) this.dispose(facade)
    this.disposables.clear()
    this.handedOut.clear()
    this.handles.clear()
    this.promises.clear()
  }

  get size(): number {
    return this.handles.size
  }

  /** Facades kept to be closed on clear(). */
  get tracked(): number {
    return this.disposables.size
  }

  private readonly warn = (message: string): void => {
    outsideAddressPolicy(() => {
      try {
        this.options.warn(message)
      } catch {
        // A failing log sink must not turn an SDK event into a host crash.
      }
    })
  }

  private loadSdk(root: string, spec: ModuleSpec): unknown {
    if (this.options.loadModule) {
      const found = this.options.loadModule(root)
      if (found === undefined) throw new Error(`module ${root} is not installed on this server`)
      return found
    }
    try {
      return spec.load()
    } catch (error) {
      const e = error as { code?: string; message?: string }
      if (e.code === 'MODULE_NOT_FOUND' && e.message?.includes(`'${root}'`)) throw new Error(`module ${root} is not installed on this server`)
      throw error
    }
  }

  private run<T>(entry: Entry, fn: () => T): T {
    return withAddressPolicy(this.options.policy, entry.module, fn, this.sockets, this.responses)
  }

  private entry(handle: number): Entry {
    const entry = this.handles.get(handle)
    if (!entry) throw new Error('bridged object was released')
    return entry
  }

  private args(raw: unknown, what: string, entry: Entry): Args {
    if (!Array.isArray(raw)) throw new TypeError(`${what}: arguments must be a list`)
    return new Args(decode(raw, this.codec(entry.module), 0) as unknown[], what)
  }

  private encode(value: unknown, entry: Entry): unknown {
    return encode(value, this.codec(entry.module), entry.facade)
  }

  private codec(module: string): CodecHost {
    return {
      refFor: (facade) => this.ref(facade, module),
      facade: (handle) => this.entry(handle).facade,
      callback: (id, fn) => {
        const callback = new Callback(id, fn, (cid, args) => this.invoke(cid, args, module))
        // When the SDK drops the function, the sandbox can drop it too.
        this.finalizer.register(callback, id)
        return callback
      },
    }
  }

  private ref(facade: Handed, module: string): FacadeRef {
    const id = this.nextId++
    if (!this.cleared) {
      this.handles.set(id, { facade, module })
      this.handedOut.set(facade, (this.handedOut.get(facade) ?? 0) + 1)
    }
    this.track(facade)
    const ref: FacadeRef = { __psFacade: id, type: facade.typeName }
    if (!this.described.has(facade.typeName)) {
      this.described.add(facade.typeName)
      ref.shape = facade.shape()
    }
    return ref
  }

  /**
   * Remembers facades that may hold resources, to close on clear(): from when they are made, since a
   * client opens its socket later. One is dropped once it holds nothing and the plugin let go of it
   * (ten thousand S3 clients made and dropped held 47 MB of host heap for the instance's life).
   */
  private track(facade: Handed): void {
    if (this.disposables.has(facade) || !facade.closable) return
    // Settled after the isolate went away: nobody can close it now.
    if (this.cleared) return this.dispose(facade)
    if (this.disposables.size >= 64) for (const known of this.disposables) if (!this.handedOut.has(known) && !known.disposable()) this.disposables.delete(known)
    this.disposables.add(facade)
  }

  private dispose(facade: Handed): void {
    try {
      withAddressPolicy(this.options.policy, 'bridge', () => facade.dispose(), this.sockets)
    } catch (error) {
      this.warn(`closing ${facade.typeName} failed: ${errorFields(error).message}`)
    }
  }

  private invoke(id: number, args: unknown[], module: string): void {
    if (this.cleared) return
    let encoded: unknown
    try {
      encoded = encode(args, this.codec(module))
    } catch (error) {
      return this.warn(`a ${module} callback could not be called: ${errorFields(error).message}`)
    }
    outsideAddressPolicy(() => {
      try {
        this.options.invokeCallback(id, encoded)
      } catch (error) {
        this.warn(`a ${module} callback could not be called: ${errorFields(error).message}`)
      }
    })
  }
}

function own<V>(record: Readonly<Record<string, V>> | undefined, key: string): V | undefined {
  return record !== undefined && Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined
}
