import { AsyncLocalStorage } from 'async_hooks'
import { isIP, LookupFunction, Socket } from 'net'
import { AddressPolicy, normalizeHost } from './address-policy'
import { FetchRefusedError } from './fetch-refused-error'
import { guardedLookup } from './guarded-lookup'

interface PolicyScope {
  policy: AddressPolicy
  /** Names the module in refusals: `fetch refused: pg: 127.0.0.1 is a loopback address`. */
  label: string
  lookup: LookupFunction
}

type ConnectArgs = unknown[]
type Connect = (this: Socket, ...args: ConnectArgs) => Socket

const scopes = new AsyncLocalStorage<PolicyScope>()
const lookups = new WeakMap<AddressPolicy, LookupFunction>()
let original: Connect | undefined

/**
 * Runs `fn`, and everything it starts asynchronously, under `policy`: every socket it opens (net,
 * tls, http agents, anything built on `net.Socket#connect`) must reach an address the policy
 * accepts, and never a Unix socket. Bridged SDK calls run inside this, so what an SDK does with its
 * options does not matter: the check is on the socket.
 */
export function withAddressPolicy<T>(policy: AddressPolicy, label: string, fn: () => T): T {
  installSocketGuard()
  let lookup = lookups.get(policy)
  if (!lookup) lookups.set(policy, (lookup = guardedLookup(policy)))
  return scopes.run({ policy, label, lookup }, fn)
}

/** Runs `fn` outside any policy: host work a bridged SDK triggers (plugin callbacks, host logs) is not the plugin's. */
export function outsideAddressPolicy<T>(fn: () => T): T {
  return scopes.exit(fn)
}

/** Replaces `net.Socket.prototype.connect` once per process; sockets opened outside a policy scope are untouched. */
export function installSocketGuard(): void {
  if (original) return
  const connect = Socket.prototype.connect as unknown as Connect
  original = connect
  Socket.prototype.connect = function guardedConnect(this: Socket, ...args: ConnectArgs): Socket {
    const scope = scopes.getStore()
    if (!scope) return connect.apply(this, args)
    const [options, callback] = normalize(args)
    const refusal = refusalOf(options, scope)
    if (refusal) {
      // As a failed connect would: the error arrives asynchronously, on the socket.
      process.nextTick(() => this.destroy(refusal))
      return this
    }
    // Our lookup, whatever the caller passed: names resolve only to addresses the policy accepts.
    const checked = { ...options, lookup: scope.lookup }
    return callback ? connect.call(this, checked, callback) : connect.call(this, checked)
  } as typeof Socket.prototype.connect
}

/**
 * The forms `connect` accepts, as one options object: `(options[, cb])`, `(port[, host][, cb])`,
 * `(path[, cb])`, and the pre-normalised `[options, cb]` array `net.connect` passes. The socket is
 * then connected with exactly this object, so what was checked is what is connected.
 */
function normalize(args: ConnectArgs): [Record<string, unknown>, ((...a: unknown[]) => void) | undefined] {
  const list = Array.isArray(args[0]) ? (args[0] as unknown[]) : args
  const last = list[list.length - 1]
  const callback = typeof last === 'function' ? (last as (...a: unknown[]) => void) : undefined
  const first = list[0]
  if (first !== null && typeof first === 'object') return [first as Record<string, unknown>, callback]
  if (typeof first === 'string' && !Number.isFinite(Number(first))) return [{ path: first }, callback]
  return [{ port: first, host: typeof list[1] === 'string' ? list[1] : undefined }, callback]
}

function refusalOf(options: Record<string, unknown>, scope: PolicyScope): FetchRefusedError | null {
  if (options.path) return new FetchRefusedError(`${scope.label}: Unix socket connections are not allowed`, false)
  const host = normalizeHost(String(options.host || 'localhost'))
  if (isIP(host) === 0) return null
  const why = scope.policy.refusal(host)
  return why === null ? null : new FetchRefusedError(`${scope.label}: ${why}`)
}
