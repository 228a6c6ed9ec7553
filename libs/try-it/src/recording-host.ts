import { guardedFetch, holdingSocket, SocketCount } from '@plugin-server/plugin-vm'
import type {
  ApiRequest,
  ByteBudget,
  FetchGuard,
  HttpRequestInit,
  HttpResponseData,
  ResponseReading,
  MetricOperation,
  PluginAttachment,
  PluginCache,
  PluginCapture,
  PluginCursor,
  PluginHost,
  PluginJobRequest,
  PluginLogEntry,
  PluginStorage,
} from '@plugin-server/plugin-vm'
import { ApiDefaults, callPosthogApi, decodeCacheValue } from '@plugin-server/plugin-runtime'
import type { CallRecorder } from './call-recorder'
import { notSentError, originOf, requestView, responseView, SENT_FETCH_METHODS, shownUrl } from './dry-net'

export interface RecordingHostOptions {
  config: Record<string, unknown>
  attachments: Record<string, PluginAttachment>
  recorder: CallRecorder
  /** Overlays over the config's real namespaces (or empty ones): reads answered, writes kept in memory. */
  cache: PluginCache
  storage: PluginStorage
  cursor: PluginCursor
  geoip: (ip: string) => Promise<unknown>
  fetchGuard: FetchGuard
  /** Aborted at the dry run's deadline: nothing it started outlives it. */
  signal: AbortSignal
  maxFetchBytes: number
  /**
   * Bytes of responses being read, shared by every plugin of the run as the workers share it by
   * instance: concurrent GETs are held to one response's limit together, not one each.
   */
  fetchInFlight: ByteBudget
  /** Sockets of the run's plugins (MAX_TRY_SOCKETS): each GET it sends holds one while in flight. */
  sockets: SocketCount
  /** A fetch's own deadline when the plugin gives none, as on the workers (PLUGIN_TIMEOUT_MS). */
  fetchTimeoutMs: number
  api: ApiDefaults
}

/** Arguments as the plugin passed them, without the trailing undefined ones it left out. */
function given(...args: unknown[]): unknown[] {
  while (args.length > 0 && args[args.length - 1] === undefined) args.pop()
  return args
}

/**
 * The PluginHost of a dry run. Reads (cache, storage, cursor, GeoIP, GET/HEAD fetches, GET
 * posthog.api) are answered for real; everything that would change something outside the sandbox
 * (cache/storage/cursor writes, captures, jobs, metrics, other requests) is recorded and not done.
 * Every call lands in the recorder with its arguments and what the plugin got back.
 */
export class RecordingHost implements PluginHost {
  readonly config: Readonly<Record<string, unknown>>
  readonly attachments: Readonly<Record<string, PluginAttachment | null>>
  readonly cache: PluginCache
  readonly storage: PluginStorage
  readonly cursor: PluginCursor

  constructor(private readonly o: RecordingHostOptions) {
    this.config = o.config
    this.attachments = o.attachments
    const { cache, storage, cursor } = o
    this.cache = {
      set: (key, value, ttl, options) => this.track('cache.set', given(key, value, ttl, options), false, () => cache.set(key, value, ttl, options)),
      readMany: (keys, maxBytes) => this.readMany(cache, keys, maxBytes),
      incr: (key) => this.track('cache.incr', [key], false, () => cache.incr(key)),
      expire: (key, ttl) => this.track('cache.expire', [key, ttl], false, () => cache.expire(key, ttl)),
      lpush: (key, items) => this.track('cache.lpush', [key, items], false, () => cache.lpush(key, items)),
      lrange: (key, start, end) => this.track('cache.lrange', [key, start, end], true, () => cache.lrange(key, start, end)),
      llen: (key) => this.track('cache.llen', [key], true, () => cache.llen(key)),
      lpop: (key, count) => this.track('cache.lpop', [key, count], false, () => cache.lpop(key, count)),
      lrem: (key, count, element) => this.track('cache.lrem', [key, count, element], false, () => cache.lrem(key, count, element)),
    }
    this.storage = {
      get: (key, defaultValue) => this.track('storage.get', given(key, defaultValue), true, () => storage.get(key, defaultValue)),
      set: (key, value) => this.track('storage.set', [key, value], false, () => storage.set(key, value)),
      del: (key) => this.track('storage.del', [key], false, () => storage.del(key)),
    }
    this.cursor = {
      init: (key, initialValue) => this.track('cursor.init', given(key, initialValue), false, () => cursor.init(key, initialValue)),
      increment: (key, by) => this.track('cursor.increment', given(key, by), false, () => cursor.increment(key, by)),
    }
  }

  async enqueueJob(job: PluginJobRequest): Promise<void> {
    this.o.recorder.call('jobs', [{ name: job.name, payload: job.payload, run_at: job.runAt }], false)
  }

  updateMetric(name: string, operation: MetricOperation, value: number): void {
    this.o.recorder.call('metrics', [name, operation, value], false)
  }

  geoipLocate(ip: string): Promise<unknown> {
    return this.track('geoip', [ip], true, () => this.o.geoip(ip))
  }

  log(entry: PluginLogEntry): void {
    this.o.recorder.log(entry.level, entry.message)
  }

  capture(capture: PluginCapture): void {
    this.o.recorder.call('capture', [capture.event, capture.properties], false)
  }

  async fetch(url: string, init: HttpRequestInit): Promise<HttpResponseData> {
    const request = requestView(init)
    const args = [shownUrl(url), request]
    if (!SENT_FETCH_METHODS.has(request.method)) {
      const error = notSentError(`fetch: ${request.method} ${originOf(url)}`)
      this.o.recorder.refuse(this.o.recorder.call('fetch', args, false), error.message)
      throw error
    }
    const { fetchGuard: guard, signal, maxFetchBytes: maxBytes, fetchInFlight: inFlight } = this.o
    // The host dispatcher bounds only fetches it sends itself; a host's own fetch must do it here.
    // At most the workers' deadline, as theirs are (the run's own deadline aborts it sooner anyway).
    const bounded = { ...init, timeoutMs: Math.min(init.timeoutMs || this.o.fetchTimeoutMs, this.o.fetchTimeoutMs) }
    // guardedFetch opens its own sockets, outside the socket guard the workers' fetch passes.
    const send = () => holdingSocket(this.o.sockets, 'fetch', () => guardedFetch(url, bounded, { guard, signal, maxBytes, inFlight }))
    return this.track('fetch', args, true, send, responseView)
  }

  async api(request: ApiRequest, reading: ResponseReading): Promise<HttpResponseData> {
    const args = [request.method, request.path, request.options]
    // The workers serve every method; a dry run sends only the reads.
    if (request.method !== 'GET') {
      const error = notSentError(`posthog.api.${request.method.toLowerCase()}(${JSON.stringify(request.path)})`)
      this.o.recorder.refuse(this.o.recorder.call('posthog.api', args, false), error.message)
      throw error
    }
    // Held to the run's bytes in flight with its fetches, and to the workers' deadline, as they are.
    const { fetchInFlight: inFlight, fetchTimeoutMs } = this.o
    const bounded = { ...reading, inFlight, timeoutMs: Math.min(reading.timeoutMs || fetchTimeoutMs, fetchTimeoutMs) }
    return this.track('posthog.api', args, true, () => callPosthogApi(request, this.o.api, bounded), responseView)
  }

  /** Bridged SDKs (pg, BigQuery, S3, …) talk to outside systems from the host, where nothing could be recorded or held back. */
  loadHostModule(name: string): unknown {
    const error = new Error(`module "${name}" is not available in a dry run (Try it): its calls would reach outside systems and cannot be held back`)
    this.o.recorder.settle(this.o.recorder.call('module', [name], false), { error })
    throw error
  }

  /**
   * A plugin's `cache.get` calls: the host reads each key once as text and the sandbox decodes it
   * (vm/cache-reads.ts), so each key shows as the plugin's `cache.get` of it with the value stored.
   */
  private async readMany(cache: PluginCache, keys: readonly string[], maxBytes: number): Promise<(string | null | Error | undefined)[]> {
    const entries = keys.map((key) => this.o.recorder.call('cache.get', [key], true))
    let answers: (string | null | Error | undefined)[]
    try {
      answers = await cache.readMany(keys, maxBytes)
    } catch (error) {
      for (const entry of entries) this.o.recorder.settle(entry, { error })
      throw error
    }
    for (const [i, answer] of answers.entries()) {
      if (answer instanceof Error) this.o.recorder.settle(entries[i], { error: answer })
      else if (answer === undefined) this.o.recorder.settle(entries[i], { error: new Error('not read: the values read at once are too large') })
      else this.o.recorder.settle(entries[i], { result: decodeCacheValue(answer, null) })
    }
    return answers
  }

  private async track<T>(call: string, args: unknown[], performed: boolean, run: () => Promise<T>, show?: (value: T) => unknown): Promise<T> {
    const entry = this.o.recorder.call(call, args, performed)
    try {
      const result = await run()
      this.o.recorder.settle(entry, { result: show ? show(result) : result })
      return result
    } catch (error) {
      // Refused by the fetch policy, or for want of a socket: nothing left the process.
      const code = (error as { code?: unknown }).code
      if (code === 'ERR_PLUGIN_FETCH_REFUSED' || code === 'ERR_PLUGIN_SOCKET_LIMIT') entry.performed = false
      this.o.recorder.settle(entry, { error })
      throw error
    }
  }
}
