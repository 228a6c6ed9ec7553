import { AsyncLocalStorage } from 'async_hooks'
import { Agent, ClientRequest, IncomingMessage, RequestOptions } from 'http'
import { isIP, LookupFunction, Socket } from 'net'
import type { ByteBudget } from '../byte-budget'
import { keptFrom, type Reserve } from '../reserve'
import { AddressPolicy, normalizeHost } from './address-policy'
import { boundResponse, installInflateGuard } from './bounded-response'
import { FetchRefusedError } from './fetch-refused-error'
import { getaddrinfo, guardedLookup } from './guarded-lookup'
import { PLUGIN_LOOKUPS } from './lookup-slots'
import type { SystemLookup } from './name-resolver'
import { SocketLimitError } from './socket-limit-error'

/**
 * Sockets one plugin instance may have open at once, however opened (bridged SDKs, fetch). Every
 * socket is a file descriptor of a worker all teams share: 3 000 pg connects in one processEvent
 * took a worker to EMFILE, and with it every team's sockets and the worker's own Redis and Postgres.
 */
export const MAX_SOCKETS_PER_INSTANCE = 64
/**
 * Fetches one instance runs at once; the rest wait their turn. Each in flight holds a socket (the
 * guard's agents keep none alive), and processEvent runs 100 events at once: a plugin fetching per
 * event had a third of its fetches refused at the socket cap. Half of it, so bridged SDKs keep the rest.
 */
export const MAX_FETCHES_PER_INSTANCE = MAX_SOCKETS_PER_INSTANCE / 2

/**
 * The sockets open under one instance's scopes, counted from connect until 'close'. A count may sit
 * `within` another (an instance's within its team's, a team's within the process's), which counts
 * the same sockets: a team's many configs share one bound, and every team's one for the process's
 * file descriptors. `name` says what a count with no room is, in refusals (none: an instance's own).
 * `reserve` (the process's): its last sockets go only to teams with few open (../reserve).
 */
export class SocketCount {
  open = 0

  constructor(
    readonly limit = MAX_SOCKETS_PER_INSTANCE,
    readonly within?: SocketCount,
    readonly name?: string,
    readonly reserve?: Reserve,
  ) {}
}

interface PolicyScope {
  policy: AddressPolicy
  /** Names the module in refusals: `fetch refused: pg: 127.0.0.1 is a loopback address`. */
  label: string
  lookup: LookupFunction
  sockets?: SocketCount
  /** HTTP response bodies being received by the scope's requests, counted (bounded-response.ts) when given. */
  responses?: ByteBudget
}

type ConnectArgs = unknown[]
type Connect = (this: Socket, ...args: ConnectArgs) => Socket

const scopes = new AsyncLocalStorage<PolicyScope>()
/**
 * Who connected each socket: a kept-alive socket is reused only by the same owner. That is the plugin
 * instance (its socket count); the policy alone would not do, as every plugin under one allowlist
 * shares one policy object (fetch-guard.ts).
 */
const socketOwners = new WeakMap<Socket, object>()

/** A scope's owner: its socket count, else its policy; undefined for host code. */
function ownerOf(scope: PolicyScope | undefined): object | undefined {
  return scope && (scope.sockets ?? scope.policy)
}
/**
 * getaddrinfo run in `owner`'s turn among PLUGIN_LOOKUPS, one at a time for `group` (the instance's
 * team): the part of a lookup that holds one of libuv's threads (name-resolver.ts).
 */
function slotted(owner: object, group: object): SystemLookup {
  return (hostname, family, callback) => {
    const lookup = (done: () => void): void => {
      const answer: typeof callback = (error, addresses) => {
        done()
        callback(error, addresses)
      }
      try {
        getaddrinfo(hostname, family, answer)
      } catch (error) {
        // dns.lookup throws for bad arguments; as an answer, it fails this socket and not whoever freed the slot.
        process.nextTick(answer, error as NodeJS.ErrnoException, [])
      }
    }
    PLUGIN_LOOKUPS.run(owner, lookup, group)
  }
}

/** Sockets counted and not yet closed: a socket connected again after its close is counted again. */
const counted = new WeakSet<Socket>()
let original: Connect | undefined

/**
 * Runs `fn`, and everything it starts asynchronously, under `policy`: every socket it opens (net,
 * tls, http agents, anything built on `net.Socket#connect`) must reach an address the policy
 * accepts, and never a Unix socket. Bridged SDK calls run inside this, so what an SDK does with its
 * options does not matter: the check is on the socket. With `sockets`, each one is also counted
 * there until it closes, and one past its limit fails with SocketLimitError. With `responses`, the
 * bodies of HTTP responses its requests receive count there while they arrive (bounded-response.ts).
 */
export function withAddressPolicy<T>(policy: AddressPolicy, label: string, fn: () => T, sockets?: SocketCount, responses?: ByteBudget): T {
  installSocketGuard()
  // The owner as ownerOf gives it; its lookups wait their team's turn (its count's `within`).
  const owner = sockets ?? policy
  const lookup = guardedLookup(policy, slotted(owner, sockets?.within ?? owner))
  return scopes.run({ policy, label, lookup, sockets, responses }, fn)
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
    socketOwners.set(this, ownerOf(scope)!)
    const [options, callback] = normalize(args)
    const refusal = refusalOf(options, scope) ?? overLimit(this, scope)
    if (refusal) {
      // As a failed connect would: the error arrives asynchronously, on the socket.
      process.nextTick(() => this.destroy(refusal))
      return this
    }
    // Our lookup, whatever the caller passed: names resolve only to addresses the policy accepts, by
    // the hosts file and DNS on the event loop, and `localhost` by getaddrinfo one at a time per team,
    // within the plugins' share of libuv's threads (name-resolver.ts, lookup-slots.ts); never to the
    // fleet's own services at this port (fleet-services.ts).
    const closed = scope.policy.closed
    const checked = { ...options, lookup: closed ? closed.lookup(scope.lookup, Number(options.port)) : scope.lookup }
    return callback ? connect.call(this, checked, callback) : connect.call(this, checked)
  } as typeof Socket.prototype.connect
  installAgentGuard()
  installInflateGuard(() => scopes.getStore())
}

type AddRequest = (this: Agent, req: ClientRequest, options: RequestOptions) => void

/**
 * A kept-alive socket is reused without a new connect, so the check above would not see it: Node's
 * global agents keep sockets alive (Node 19+), and SDKs share agents (teeny-request's module-level
 * pool, gaxios). A request takes a pooled socket only if the same owner connected it (the same plugin
 * instance, or host code), so no plugin inherits a socket host code or another plugin opened (nor is
 * counted against its limit), and host code inherits none a plugin opened. Not covered: a request
 * queued behind an agent's finite `maxSockets` is handed the next socket freed (the global agents
 * have no limit).
 */
function installAgentGuard(): void {
  const proto = Agent.prototype as Agent & { addRequest: AddRequest }
  const addRequest = proto.addRequest
  proto.addRequest = function guardedAddRequest(this: Agent, req: ClientRequest, options: RequestOptions): void {
    const scope = scopes.getStore()
    const responses = scope?.responses
    if (responses) req.once('response', (res: IncomingMessage) => boundResponse(req, res, responses, scope.label))
    const pool = this.freeSockets as Record<string, Socket[] | undefined>
    const name = this.getName(options)
    const free = pool[name]
    const owner = ownerOf(scope)
    const hidden = free?.filter((socket) => socketOwners.get(socket) !== owner) ?? []
    if (hidden.length === 0) return addRequest.call(this, req, options)
    const usable = free!.filter((socket) => !hidden.includes(socket))
    if (usable.length > 0) pool[name] = usable
    else delete pool[name]
    try {
      addRequest.call(this, req, options)
    } finally {
      const left = pool[name] ?? []
      pool[name] = [...hidden, ...left]
    }
  }
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

/**
 * Takes one socket of `sockets` and of every count it sits within, and answers how to give it back;
 * or the error naming the first count with no room, taking nothing. `label` names the module.
 */
function takeSocket(sockets: SocketCount, label: string): SocketLimitError | (() => void) {
  const levels: SocketCount[] = []
  let inner: SocketCount | undefined
  for (let count: SocketCount | undefined = sockets; count; inner = count, count = count.within) {
    if (count.open >= count.limit) return new SocketLimitError(label, count.limit, count.name)
    if (count.open >= count.limit - keptFrom(count.reserve, inner?.open)) {
      return new SocketLimitError(label, count.limit, count.name, { reserve: count.reserve!, open: count.open, mine: inner!.open, whose: inner!.name })
    }
    levels.push(count)
  }
  for (const count of levels) count.open++
  let given = false
  return () => {
    if (given) return
    given = true
    for (const count of levels) count.open--
  }
}

/**
 * Runs `send`, a request host code makes for a plugin outside the guard (its own HTTP client, Node's
 * pooled fetch), holding one socket of `sockets` (and of each count it sits within) until it
 * settles: the connection it opens or reuses, counted as the guard counts the plugin's own. Past a
 * limit it fails with SocketLimitError, unsent.
 */
export async function holdingSocket<T>(sockets: SocketCount, label: string, send: () => Promise<T>): Promise<T> {
  const taken = takeSocket(sockets, label)
  if (taken instanceof SocketLimitError) throw taken
  try {
    return await send()
  } finally {
    taken()
  }
}

/** Counts the socket against its scope's count (and those it sits within) until it closes, or the error when one has no room. */
function overLimit(socket: Socket, scope: PolicyScope): SocketLimitError | null {
  const { sockets } = scope
  if (!sockets || counted.has(socket)) return null
  const taken = takeSocket(sockets, scope.label)
  if (taken instanceof SocketLimitError) return taken
  counted.add(socket)
  socket.once('close', () => {
    taken()
    counted.delete(socket)
  })
  return null
}

function refusalOf(options: Record<string, unknown>, scope: PolicyScope): FetchRefusedError | null {
  if (options.path) return new FetchRefusedError(`${scope.label}: Unix socket connections are not allowed`, false)
  const host = normalizeHost(String(options.host || 'localhost'))
  // Before the policy: no allowlist opens the fleet's own services.
  const fleet = scope.policy.closed?.refusal(host, Number(options.port))
  if (fleet) return new FetchRefusedError(`${scope.label}: ${fleet}`, false)
  if (isIP(host) === 0) return null
  const why = scope.policy.refusal(host)
  return why === null ? null : new FetchRefusedError(`${scope.label}: ${why}`)
}
