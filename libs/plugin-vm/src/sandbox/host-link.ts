import { STAMP_DIGITS } from '../fire-stamp'
import type { HostReply } from '../vm/host-reply'
import { FetchError } from './fetch-error'
import { detached } from './intrinsics'

/**
 * The only path from the sandbox to the host: three ivm References the host hands to `connectHost`
 * (through the runtime's `init`) after the runtime has run and before any plugin code does. They
 * live only in this module's closure, never on the global object, so plugin code never sees them.
 * The runtime itself runs before they exist: it is what the process's startup snapshot holds
 * (vm/runtime-snapshot.ts), and a snapshot cannot hold References.
 */

interface TransferOptions {
  arguments?: { copy?: boolean }
  result?: { copy?: boolean; promise?: boolean }
}

interface HostReference {
  applySync(receiver: undefined, args: unknown[], options?: TransferOptions): unknown
  applySyncPromise(receiver: undefined, args: unknown[], options?: TransferOptions): unknown
  apply(receiver: undefined, args: unknown[], options?: TransferOptions): Promise<unknown>
  applyIgnored(receiver: undefined, args: unknown[], options?: TransferOptions): void
}

interface HostLink {
  sync: HostReference
  async: HostReference
  work: HostReference
  inlineWorkBytes: number
  /** What the requests an instance has not had answered may carry together (its maxFetchBytes). */
  maxRequestBytes: number
}

let link: HostLink | null = null

/** Once per context, by the host: a second call would let whoever makes it take the link over. */
export function connectHost(next: HostLink): void {
  if (link) throw new Error('the sandbox is already connected to its host')
  link = next
}

function host(): HostLink {
  if (!link) throw new Error('the sandbox is not connected to its host yet')
  return link
}

/**
 * isolated-vm reads every option through the prototype chain, so an options literal would take what
 * a plugin put on Object.prototype: `Object.prototype.timeout = 1` had the host's own function (a
 * crossing's cache writes, host work) stopped by TerminateExecution after 1 ms, past its catch and
 * finally blocks, leaving its byte budgets and slots taken. These options have no prototype.
 */
function transfer(result: { copy: true; promise?: true } | null): TransferOptions {
  const options = detached<TransferOptions>({ arguments: detached({ copy: true }) })
  if (result) options.result = detached(result)
  return options
}

const COPY = transfer({ copy: true })
const COPY_PROMISE = transfer({ copy: true, promise: true })
const COPY_ARGUMENTS = transfer(null)

export function hostError(error: { name: string; message: string; code?: unknown }): Error {
  const result = (error.name === 'FetchError' ? new FetchError(error.message) : new Error(error.message)) as Error & { code?: unknown }
  result.name = error.name
  if (error.code !== undefined) result.code = error.code
  return result
}

function unwrap(reply: HostReply): unknown {
  if (!reply.ok) throw hostError(reply.error ?? { name: 'Error', message: 'host call failed' })
  return reply.value
}

/** Blocks the isolate until the host answers; for cheap, synchronous host work (hashes, zlib). */
export function hostSync(op: string, args: unknown[]): unknown {
  return unwrap(host().sync.applySync(undefined, [op, args], COPY) as HostReply)
}

/** Rough size of a call's inputs, to send large ones to a host worker thread (the host checks again). */
export function argsSize(args: readonly unknown[]): number {
  let total = 0
  for (const value of args) {
    if (typeof value === 'string') total += value.length
    else if (value instanceof Uint8Array) total += value.byteLength
    else {
      try {
        total += String(JSON.stringify(value) ?? '').length
      } catch {
        return Infinity
      }
    }
  }
  return total
}

/**
 * zlib, hashing and jsonwebtoken: small inputs are answered inline like `hostSync`; larger ones run
 * in a host worker thread while the isolate waits, so the plugin keeps a synchronous API and the
 * host's event loop stays free. `size` is the input's byte count.
 */
export function hostWork(op: string, args: unknown[], size: number): unknown {
  if (size <= host().inlineWorkBytes) return hostSync(op, args)
  return unwrap(host().work.applySyncPromise(undefined, [op, args], COPY_ARGUMENTS) as HostReply)
}

/**
 * Cheap host calls (cache, storage, cursor, geoip) made in the same turn of the event loop cross
 * the boundary together: a batch of events each awaiting `cache.get` costs one crossing, not one
 * per event. Slow ones (fetch, api, bridged SDKs) go alone so they cannot hold the others up.
 */
const BATCHED_OPS = new Set([
  'cache.set',
  'cache.get',
  'cache.incr',
  'cache.expire',
  'cache.lpush',
  'cache.lrange',
  'cache.llen',
  'cache.lpop',
  'cache.lrem',
  'storage.get',
  'storage.set',
  'storage.del',
  'cursor.init',
  'cursor.increment',
  'geoip.locate',
])

/** Turns a host's answer into what the plugin gets (in the sandbox: the host never builds it). */
export type ReplyDecoder = (value: unknown) => unknown

/** The host's answer as it is: what every operation but geoip gives the plugin. */
const asIs: ReplyDecoder = (value) => value

interface PendingCall {
  op: string
  args: unknown[]
  decode: ReplyDecoder
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

let pending: PendingCall[] = []

function callHost(op: string, args: unknown[]): Promise<HostReply> {
  return host().async.apply(undefined, [op, args], COPY_PROMISE) as Promise<HostReply>
}

/** Operations that read data fixed for the process: the same arguments in one crossing are asked once. */
const SAME_ANSWER_OPS = new Set(['geoip.locate'])

function flushPending(): void {
  const calls = pending
  pending = []
  const settle = (call: PendingCall, reply: HostReply) => {
    try {
      call.resolve(call.decode(unwrap(reply)))
    } catch (error) {
      call.reject(error)
    }
  }
  if (calls.length === 1) {
    callHost(calls[0].op, calls[0].args).then((reply) => {
      acknowledge(reply)
      settle(calls[0], reply)
    }, calls[0].reject)
    return
  }
  // Each caller still decodes the one answer itself, so each gets an object of its own.
  const sent: [string, unknown[]][] = []
  const answers: number[] = []
  const asked = new Map<string, number>()
  for (let i = 0; i < calls.length; i++) {
    const { op, args } = calls[i]
    const key = SAME_ANSWER_OPS.has(op) && typeof args[0] === 'string' ? op + '\n' + args[0] : undefined
    let index = key === undefined ? undefined : asked.get(key)
    if (index === undefined) {
      index = sent.push([op, args]) - 1
      if (key !== undefined) asked.set(key, index)
    }
    answers.push(index)
  }
  callHost('batch', [sent]).then(
    (reply) => {
      if (!reply.ok) return calls.forEach((c) => c.reject(hostError(reply.error ?? { name: 'Error', message: 'host call failed' })))
      const replies = reply.value as HostReply[]
      replies.forEach(acknowledge)
      calls.forEach((call, i) => {
        const answer = replies[answers[i]]
        settle(call, answer.same === undefined ? answer : replies[answer.same])
      })
    },
    (error: unknown) => calls.forEach((c) => c.reject(error)),
  )
}

/** Tells the host the cache values it counted for this reply are here: it holds only so many for the isolate at once. */
function acknowledge(reply: HostReply): void {
  if (reply.taken !== undefined) hostFire('cache.taken', [reply.taken])
}

/** Returns a sandbox promise settled when the host's promise settles; `decode` (here, in the sandbox) turns the answer into the value. */
export function hostAsync(op: string, args: unknown[], decode = asIs): Promise<unknown> {
  if (!BATCHED_OPS.has(op)) return callHost(op, args).then((reply) => decode(unwrap(reply)))
  return new Promise((resolve, reject) => {
    pending.push({ op, args, decode, resolve, reject })
    if (pending.length === 1) void Promise.resolve().then(flushPending)
  })
}

/** Characters of the fetch and posthog.api requests sent and not yet answered. */
let requestBytes = 0

/**
 * A fetch or posthog.api call. Its arguments are copied to the host as it is made and stay there
 * until it is answered, queued behind the 32 in flight: 40 un-awaited fetches of one 50 MB body took
 * the process to 4.1 GB. So they are counted here, where they are made, before anything is copied:
 * a request joining others in flight is refused past `maxRequestBytes` together (one alone is not,
 * as before; the isolate's memory limit bounds it). `size`: its URL, headers and body in characters,
 * measured on what crosses (the caller builds it of primitives and copies, see fetch.ts).
 */
export async function hostRequest(op: string, args: unknown[], size: number, what: string): Promise<unknown> {
  const max = host().maxRequestBytes
  if (requestBytes > 0 && requestBytes + size > max)
    throw new RangeError(`${what}: the requests this plugin has not had answered yet carry more than ${max} bytes together; await some before sending more`)
  requestBytes += size
  try {
    return await hostAsync(op, args)
  } finally {
    requestBytes -= size
  }
}

/**
 * Fires sent so far. isolated-vm delivers fire-and-forget calls and call results through different
 * queues, so on a busy host a call's result can arrive before the logs and captures it made. Every
 * result carries this count (`stamped`) and the host waits until it has handled that many fires
 * (vm/fire-fence.ts) before it treats the call as done.
 */
let fired = 0

/** Fire and forget (logs, metrics, captures); the host handles them before the current call's result. */
export function hostFire(op: string, args: unknown[]): void {
  host().sync.applyIgnored(undefined, [op, args, true], COPY_ARGUMENTS)
  // Counted once sent: a fire whose arguments could not be copied never reaches the host.
  fired++
  unfenced++
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (typeof arg === 'string') unfencedChars += arg.length
  }
  // The host handles calls in the order sent, so this waits until it has handled these fires, and
  // then for a turn of its event loop (other isolates' fires keep the queue it drains from emptying).
  if (unfenced >= FIRES_PER_FENCE || unfencedChars >= CHARS_PER_FENCE) {
    unfenced = 0
    unfencedChars = 0
    host().work.applySyncPromise(undefined, ['fire.fence', []], COPY_ARGUMENTS)
  }
}

/**
 * Fires (and their text) sent before the sandbox waits for the host to have handled them. Nothing
 * waits for a fire, and isolated-vm runs the tasks queued for the host until none is left without
 * returning to its event loop: a console.log loop of 16 KB lines queued copies faster than the host
 * handled them, 1.9 GB of them in 2 s, and held every team's work on that event loop for 3 s. Small
 * fires wait less often: each wait is a turn of the host's loop, and a turn ends what the host merges
 * (meta.metrics updates: 10 000 in a loop were 2 Redis scripts, and 330 with a wait every 64).
 */
const FIRES_PER_FENCE = 1024
const CHARS_PER_FENCE = 1024 * 1024
let unfenced = 0
let unfencedChars = 0

/** The result followed by the fire count in STAMP_DIGITS digits: plain `+`, nothing a plugin can replace. */
export function stamped(result: string): string {
  let digits = '' + fired
  while (digits.length < STAMP_DIGITS) digits = '0' + digits
  return result + digits
}
