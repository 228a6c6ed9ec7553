import { ApiMethod, CacheSet, LogLevel, MetricOperation, PluginHost, StoreCapability } from '../interfaces'
import { CacheReads } from './cache-reads'
import { CaptureBudget } from './capture-budget'
import { failure, type HostReply } from './host-reply'
import { HostModuleBridge } from './host-bridge'
import { SYNC_OPS } from './host-sync-ops'
import { HostWork } from './host-work/host-work'
import { StoreBounds } from './store-bounds'
import { byteSize } from './byte-size'
import { cutText } from './cut-text'
import type { StoreFailures } from './store-failures'
import { HostTimers } from './host-timers'
import { Semaphore } from './semaphore'
import { defaultFetch } from './http'
import type { FetchGuard } from '../net/fetch-guard'
import { holdingSocket, MAX_FETCHES_PER_INSTANCE, SocketCount, withAddressPolicy } from '../net/socket-guard'
import type { ByteBudget } from '../byte-budget'
import { jobRunAt } from './job-time'
import { shown } from './declared-names'
import { lazyModuleSource } from './runtime-bundle'

export interface DispatcherContext {
  host: PluginHost
  pluginName: string
  configId: string | number
  bridge: HostModuleBridge
  timers: HostTimers
  signal: AbortSignal
  maxFetchBytes: number
  /** Response bytes this instance's fetches hold while reading, at most maxFetchBytes together. */
  fetchInFlight: ByteBudget
  /** A fetch's `timeout` is at most the instance's call deadline (and is that without one): one not awaited outlives its call. */
  fetchTimeoutMs: number
  /** The instance's open sockets, shared with its bridged SDKs: its fetches connect under the same count. */
  sockets: SocketCount
  /** The fetch policy of this instance (addresses, schemes, redirects). */
  fetchGuard: FetchGuard
  /** zlib, hashing and jsonwebtoken: size cap, inline or in a worker thread. */
  work: HostWork
  /** posthog.capture calls allowed to the calls in flight. */
  captures: CaptureBudget
  /** Key and value sizes for cache, storage and cursors. */
  store: StoreBounds
  /** The plugin's bundle positions in a text replaced by its own files and lines (console.error(err) prints a stack). */
  mapStack: (text: string) => string
  /** Where host calls that failed because a server store failed are recorded, for the instance's calls to read. */
  storeFailures: StoreFailures
  /** Cache values the host holds for this instance, read and not yet in its isolate (PLUGIN_HOST_WORK_MAX_BYTES). */
  cacheReadBytes: ByteBudget
  /** The most of `cacheReadBytes` one crossing's reads may take. */
  cacheReadShareBytes: number
}

const LEVELS = new Set(['log', 'info', 'warn', 'error', 'debug'])

/**
 * A log line's text at most: the sandbox's console cuts at 16 KB, but what it cuts with runs in the
 * plugin's realm (a replaced String.prototype.slice sent 50 MB lines, and an error thrown in a timer
 * is sent whole), and the host maps every plugin position in the text before any quota applies.
 */
const MAX_LOG_TEXT = 16 * 1024 + 64

function logText(value: unknown): string {
  const text = typeof value === 'string' ? value : byteSize(value, MAX_LOG_TEXT) > MAX_LOG_TEXT ? '[a value too large to log]' : String(value)
  return cutText(text, MAX_LOG_TEXT)
}

/** What the host's count of a plugin's requests may add to the sandbox's: 256 headers' names and quotes, and the request's fields, many times over. */
const REQUEST_COUNT_SLACK = 64 * 1024

/** Longer than any IP address's text (45 characters): what geoip.locate turns into text. */
const MAX_ADDRESS_TEXT = 64

/** Which store-backed capability an operation uses: only those calls' failures can be a store's. */
function capabilityOf(op: string): StoreCapability | null {
  if (op === 'jobs.enqueue') return 'jobs'
  const prefix = op.slice(0, op.indexOf('.'))
  return prefix === 'cache' || prefix === 'storage' || prefix === 'cursor' ? prefix : null
}

/**
 * `storage.*` calls of one instance at once. Each holds a connection of the process's one Postgres
 * pool (PG_POOL_SIZE, 10 by default), whose other users are the worker's own inserts and every other
 * team's plugins, and a write under a team storage limit holds it while it waits for the team's
 * lock (writes of one team run one after another anyway): 500 calls one plugin started at once took
 * every connection, and other teams' calls failed at the pool's 10 s wait.
 */
export const MAX_STORAGE_CALLS_PER_INSTANCE = 2

/** A name a plugin sent, as an error shows it (declared-names' `shown`), whatever it is. */
function shownName(name: unknown): string {
  return shown(typeof name === 'string' ? name : typeof name)
}

/** Every operation the sandbox may ask of the host, and nothing else. */
export class HostDispatcher {
  /**
   * A plugin's `cache.lrange` and `cache.lpop` run one at a time. The cache bounds each reply
   * (PLUGIN_CACHE_MAX_VALUE_BYTES) before Redis sends it, but reads not awaited add up: eight of a
   * big list at once held eight replies in the host, outside the isolate's limit. One at a time, an
   * instance holds about one reply (and the one the isolate is still copying), however many it starts.
   */
  private readonly listReads = new Semaphore(1)
  /** The instance's fetches and posthog.api calls in flight, queued past MAX_FETCHES_PER_INSTANCE rather than refused at the socket cap. */
  private readonly fetches = new Semaphore(MAX_FETCHES_PER_INSTANCE)
  /** The instance's `storage.*` calls in flight, queued past MAX_STORAGE_CALLS_PER_INSTANCE (see there). */
  private readonly storageCalls = new Semaphore(MAX_STORAGE_CALLS_PER_INSTANCE)
  /** Bytes of the fetch and posthog.api requests held here and not yet answered (see request). */
  private requestBytes = 0

  private readonly cacheReads: CacheReads
  /**
   * The metrics and jobs the plugin's module declared, checked at load (declared-names.ts); until
   * then none. The sandbox makes `meta.metrics` and `meta.jobs` functions for these names only, but
   * it runs in the plugin's realm: a plugin that replaced `Object.entries` before `meta` was made
   * sent 50 names of 1 MB each, a hash in Redis outside its team's account that capture reads at
   * every scrape. So each update and enqueue is checked here too.
   */
  private declared: { readonly metrics: ReadonlyMap<string, MetricOperation>; readonly jobNames: ReadonlySet<string> } = {
    metrics: new Map(),
    jobNames: new Set(),
  }

  constructor(private readonly ctx: DispatcherContext) {
    this.cacheReads = new CacheReads(ctx.host.cache, ctx.store, ctx.cacheReadBytes, ctx.cacheReadShareBytes)
    ctx.signal.addEventListener('abort', () => this.cacheReads.close(), { once: true })
  }

  /** What the load found the module declares (see `declared`). */
  declare(jobNames: readonly string[], metrics: Readonly<Record<string, MetricOperation>>): void {
    this.declared = { metrics: new Map(Object.entries(metrics)), jobNames: new Set(jobNames) }
  }

  sync(op: string, args: unknown[]): HostReply {
    try {
      return { ok: true, value: this.runSync(op, args) }
    } catch (error) {
      return failure(error)
    }
  }

  async async(op: string, args: unknown[]): Promise<HostReply> {
    if (op === 'cache.get') return (await this.cacheReads.read([args], 0, (error) => this.failed(op, error)))[0]
    try {
      return { ok: true, value: await this.runAsync(op, args) }
    } catch (error) {
      return this.failed(op, error)
    }
  }

  /** The reply to a failed call, recording it when the host says its store failed (never asked of the sandbox). */
  private failed(op: string, error: unknown): HostReply {
    const capability = capabilityOf(op)
    if (capability !== null) {
      let cause: string | null = null
      try {
        cause = this.ctx.host.storeFailure?.(capability, error) ?? null
      } catch {
        // A classifier that throws says nothing: the failure stays the plugin's, as before.
      }
      if (cause !== null) this.ctx.storeFailures.record(cause)
    }
    return failure(error)
  }

  /** Host work the isolate waits for (applySyncPromise) while it runs off the event loop. */
  async work(op: string, args: unknown[]): Promise<HostReply> {
    // The sandbox waits here until the host has handled the fires it sent before, and its event loop
    // has turned (sandbox/host-link.ts hostFire).
    if (op === 'fire.fence') return new Promise((resolve) => setImmediate(() => resolve({ ok: true, value: undefined })))
    try {
      return { ok: true, value: await this.ctx.work.run(op, args) }
    } catch (error) {
      return failure(error)
    }
  }

  private runSync(op: string, args: unknown[]): unknown {
    const { host, pluginName, configId, bridge } = this.ctx
    switch (op) {
      case 'log': {
        const level = (LEVELS.has(String(args[0])) ? args[0] : 'log') as LogLevel
        return host.log({ level, message: this.ctx.mapStack(logText(args[1])), pluginName, configId, timestamp: new Date() })
      }
      case 'capture':
        // Over the budget: dropped, never enqueued (the budget reports it once per call).
        if (!this.ctx.captures.take(typeof args[2] === 'number' ? args[2] : null)) return undefined
        if (!this.ctx.captures.fits(String(args[0]), typeof args[1] === 'string' ? args[1].length : 0)) return undefined
        return host.capture({ event: String(args[0]), properties: captureProperties(args[1]), pluginName, configId })
      case 'metric': {
        const [name, operation, value] = args
        if (typeof name !== 'string' || this.declared.metrics.get(name) !== operation || typeof value !== 'number' || !Number.isFinite(value)) {
          throw new TypeError(`metric ${shownName(name)} is not a ${String(operation)} metric this plugin declares (export const metrics)`)
        }
        return host.updateMetric(name, operation as MetricOperation, value)
      }
      case 'cache.taken':
        return this.cacheReads.taken(Number(args[0]))
      case 'timer.set':
        return this.ctx.timers.set(Number(args[0]), Number(args[1]))
      case 'timer.clear':
        return this.ctx.timers.clear(Number(args[0]))
      case 'bridge.require':
        return bridge.require(String(args[0]))
      case 'bridge.get':
        return bridge.get(Number(args[0]), String(args[1]))
      case 'bridge.call':
        return bridge.call(Number(args[0]), String(args[1]), args[2])
      case 'bridge.construct':
        return bridge.construct(Number(args[0]), String(args[1]), args[2])
      case 'bridge.release':
        return bridge.release(Number(args[0]))
      case 'runtime.module':
        // The same text for every isolate, built from the project's own dependencies: nothing of a
        // config in it. Answered here, not in SYNC_OPS, whose module the host-work threads load too.
        return lazyModuleSource(String(args[0]))
    }
    if (HostWork.handles(op)) return this.ctx.work.inline(op, args)
    const handler = SYNC_OPS[op]
    if (!handler) throw new Error(`unknown host operation ${op}`)
    return handler(args)
  }

  /**
   * Many cheap calls in one crossing; each gets its own reply, so one failure fails only its caller.
   * A run of consecutive `cache.incr` or `cache.set` calls (a batch of events each counting or
   * writing something) goes to the cache as one `incrMany` or `setMany` when it has them, and a run
   * of `cache.get` as one read (CacheReads): one Redis command instead of one per event. Every call
   * is sent before this returns, in the crossing's order.
   */
  private async batch(calls: [string, unknown[]][]): Promise<HostReply[]> {
    const { cache } = this.ctx.host
    const incrMany = cache.incrMany?.bind(cache)
    const setMany = cache.setMany?.bind(cache)
    const runs: Record<string, ((args: unknown[][]) => Promise<unknown[]>) | undefined> = {
      'cache.incr': incrMany && ((args) => incrMany(args.map((a) => a[0] as string))),
      'cache.set':
        setMany &&
        ((args) =>
          setMany(args.map((a) => ({ key: a[0] as string, value: a[1], ttlSeconds: a[2] as number | undefined, options: a[3] as CacheSet['options'] })))),
    }
    const parts: Promise<HostReply | HostReply[]>[] = []
    for (let i = 0; i < calls.length;) {
      const op = calls[i][0]
      const many = runs[op]
      let end = i
      if (many || op === 'cache.get') while (end < calls.length && calls[end][0] === op) end++
      if (op === 'cache.get') {
        const failed = (error: unknown) => this.failed(op, error)
        parts.push(
          this.cacheReads.read(
            calls.slice(i, end).map((call) => call[1]),
            i,
            failed,
          ),
        )
        i = end
        continue
      }
      if (many && end - i > 1) {
        parts.push(this.run(op, many, calls.slice(i, end)))
        i = end
        continue
      }
      const [, args] = calls[i++]
      parts.push(op === 'batch' ? Promise.resolve(failure(new Error('nested batch'))) : this.async(op, args))
    }
    return (await Promise.all(parts)).flat()
  }

  /** A run of one cache operation as one call of `many`; each key's (and value's) size is checked first, as for one call. */
  private async run(op: string, many: (args: unknown[][]) => Promise<unknown[]>, calls: [string, unknown[]][]): Promise<HostReply[]> {
    const { store } = this.ctx
    const replies: HostReply[] = []
    const checked: unknown[][] = []
    const positions: number[] = []
    for (const [i, [, args]] of calls.entries()) {
      try {
        const key = store.key(op, args[0])
        if (op === 'cache.set') store.cacheValue(op, args[1])
        checked.push([key, ...args.slice(1)])
        positions.push(i)
      } catch (error) {
        replies[i] = failure(error)
      }
    }
    if (checked.length === 0) return replies
    try {
      const values = await many(checked)
      for (const [j, value] of values.entries()) replies[positions[j]] = value instanceof Error ? this.failed(op, value) : { ok: true, value }
    } catch (error) {
      for (const i of positions) replies[i] = this.failed(op, error)
    }
    return replies
  }

  /**
   * A fetch or posthog.api call held here, queued or in flight, until it is answered. The sandbox
   * counts its requests before copying them (hostRequest), but what it counts with runs in the
   * plugin's realm: a plugin that replaced Promise.prototype.then had each request look answered at
   * once, and 40 POSTs of 50 MB waited here together. So they are counted here too, by the same rule
   * (one joining others is refused past maxFetchBytes together, with the sandbox's words) and in the
   * same units (UTF-16), with REQUEST_COUNT_SLACK more for what the sandbox does not count (the
   * request's field names and quotes), so nothing the sandbox sends in normal use is refused here.
   */
  private async request(what: string, sent: unknown[], send: () => Promise<unknown>): Promise<unknown> {
    const max = this.ctx.maxFetchBytes
    const size = byteSize(sent, max + REQUEST_COUNT_SLACK + 1, false, true)
    if (this.requestBytes > 0 && this.requestBytes + size > max + REQUEST_COUNT_SLACK)
      throw new RangeError(`${what}: the requests this plugin has not had answered yet carry more than ${max} bytes together; await some before sending more`)
    this.requestBytes += size
    try {
      return await send()
    } finally {
      this.requestBytes -= size
    }
  }

  private async runAsync(op: string, args: unknown[]): Promise<unknown> {
    const { host, signal, maxFetchBytes, fetchGuard, store } = this.ctx
    const [b, c] = args.slice(1)
    // Every cache, storage and cursor operation names a key first; its size is checked before any store sees it.
    const a = /^(cache|storage|cursor)\./.test(op) ? store.key(op, args[0]) : args[0]
    switch (op) {
      case 'batch':
        return this.batch(a as [string, unknown[]][])
      case 'cache.set':
        store.cacheValue(op, b)
        return host.cache.set(String(a), b, c as number | undefined, args[3] as { jsonSerialize?: boolean })
      case 'cache.incr':
        return host.cache.incr(String(a))
      case 'cache.expire':
        return host.cache.expire(String(a), Number(b))
      case 'cache.lpush':
        store.cacheValue(op, b)
        return host.cache.lpush(String(a), b)
      case 'cache.lrange':
        return this.listReads.run(() => host.cache.lrange(String(a), Number(b), Number(c)))
      case 'cache.llen':
        return host.cache.llen(String(a))
      case 'cache.lpop':
        return this.listReads.run(() => host.cache.lpop(String(a), b === undefined ? 1 : Number(b)))
      case 'cache.lrem':
        store.cacheValue(op, c)
        return host.cache.lrem(String(a), Number(b), String(c))
      case 'storage.get':
        return this.storageCalls.run(() => host.storage.get(String(a), b))
      case 'storage.set':
        store.storageValue(op, b)
        return this.storageCalls.run(() => host.storage.set(String(a), b))
      case 'storage.del':
        return this.storageCalls.run(() => host.storage.del(String(a)))
      case 'cursor.init':
        return host.cursor.init(String(a), b as number | undefined)
      case 'cursor.increment':
        return host.cursor.increment(String(a), b as number | undefined)
      case 'geoip.locate':
        // An address is short text; anything longer is answered null by the host before String() makes text of all of it.
        return host.geoipLocate(typeof a === 'string' ? a : byteSize(a, MAX_ADDRESS_TEXT) > MAX_ADDRESS_TEXT ? '' : String(a))
      case 'jobs.enqueue':
        if (typeof a !== 'string' || !this.declared.jobNames.has(a)) throw new TypeError(`jobs.${shownName(a)} is not a job this plugin exports`)
        store.jobPayload(`jobs.${a}`, b)
        return host.enqueueJob({ name: String(a), payload: b, runAt: jobRunAt(String(c), args[3], args[4]) })
      case 'fetch': {
        const init = (b ?? {}) as Parameters<typeof defaultFetch>[1]
        // A host's own fetch is trusted host code (tests, embedders, Try it) and applies its own
        // policy, and counts its own sockets; how many it runs at once is still the plugin's.
        if (host.fetch) return this.request('fetch', [a, b], () => this.fetches.run(() => host.fetch!(String(a), init)))
        const { fetchTimeoutMs } = this.ctx
        const asked = init.timeoutMs !== undefined && init.timeoutMs > 0 ? init.timeoutMs : fetchTimeoutMs
        const bounded = { ...init, timeoutMs: Math.min(asked, fetchTimeoutMs) }
        const options = { guard: fetchGuard, signal, maxBytes: maxFetchBytes, inFlight: this.ctx.fetchInFlight }
        return this.request('fetch', [a, b], () =>
          this.fetches.run(() => withAddressPolicy(fetchGuard.policy, 'fetch', () => defaultFetch(String(a), bounded, options), this.ctx.sockets)),
        )
      }
      case 'api': {
        if (!host.api) throw new Error('posthog.api is not available on this server')
        const request = { method: String(a) as ApiMethod, path: String(b), options: (c ?? {}) as Record<string, unknown> }
        // Its response is read on the host like a fetch's, so it counts against the same bounds.
        const reading = { inFlight: this.ctx.fetchInFlight, maxBytes: maxFetchBytes, timeoutMs: this.ctx.fetchTimeoutMs, signal }
        // It reaches the operator's host through Node's pooled fetch, outside the socket guard.
        return this.request(`posthog.api.${request.method.toLowerCase()}`, [b, c], () =>
          this.fetches.run(() => holdingSocket(this.ctx.sockets, 'posthog.api', () => host.api!(request, reading))),
        )
      }
      case 'bridge.await':
        return this.ctx.bridge.await(Number(a))
    }
    throw new Error(`unknown host operation ${op}`)
  }
}

/**
 * posthog.capture's properties, sent by the sandbox as JSON text (JSON.parse reads any depth without
 * recursing). Anything but null goes on as the plugin gave it: PostHog spread whatever it got (a
 * string's characters too).
 */
function captureProperties(text: unknown): Record<string, unknown> {
  const value: unknown = typeof text === 'string' ? JSON.parse(text) : null
  return (value ?? {}) as Record<string, unknown>
}
