import type { PluginLimitError } from './errors'
import type { ByteBudget, SharedByteBudget } from './byte-budget'
import type { ClosedServices } from './net/fleet-services'
import type { SocketCount } from './net/socket-guard'

/**
 * Public contract of the plugin VM. Everything a caller (libs/plugin-runtime, the ingest worker, the CLI,
 * tests) needs is declared here; the isolated-vm implementation lives behind `PluginVm`.
 */

/** A PostHog PluginEvent as it travels through processEvent; unknown keys are kept. */
export interface PluginEvent {
  event: string
  distinct_id?: string
  properties?: Record<string, unknown>
  team_id?: number
  uuid?: string
  timestamp?: string
  [key: string]: unknown
}

/** `json`: text that must parse as JSON; the plugin gets the text (PostHog's plugins call JSON.parse on it). */
export type PluginConfigFieldType = 'string' | 'json' | 'attachment' | 'choice'

export interface PluginConfigField {
  markdown?: string
  key?: string
  name?: string
  type?: PluginConfigFieldType
  default?: string
  hint?: string
  required?: boolean
  secret?: boolean
  choices?: string[]
  /** Deprecated in the contract; accepted and ignored. */
  order?: number
  [key: string]: unknown
}

/** plugin.json after validation. Unknown top-level keys are kept. */
export interface PluginJson {
  name: string
  main?: string
  url?: string
  description?: string
  config: PluginConfigField[]
  [key: string]: unknown
}

/** A plugin read from disk/archive, validated and compiled; reusable across many instances. */
export interface PluginSource {
  readonly name: string
  readonly pluginJson: PluginJson
  /** Path of the entry file inside the plugin, e.g. `index.ts`. */
  readonly entry: string
  /** esbuild output: a CommonJS body (sloppy mode) expecting `module`, `exports`, `require`. */
  readonly code: string
  /** sha256 of `code`; cache key for compiled scripts. */
  readonly codeHash: string
  /** Bare module names the code imports (`pg`, `crypto`, ...), all known to the sandbox. */
  readonly imports: readonly string[]
  /**
   * esbuild's source map of `code`, read only when a stack is reported, so its frames name the
   * plugin's own files and lines. Never one the plugin ships. Absent: frames name the bundle.
   */
  readonly sourceMap?: string
}

export type PluginMethodName =
  | 'setupPlugin'
  | 'teardownPlugin'
  | 'processEvent'
  | 'onEvent'
  | 'onSnapshot'
  | 'exportEvents'
  | 'runEveryMinute'
  | 'runEveryHour'
  | 'runEveryDay'
  | 'getSettings'
  | 'composeWebhook'

export const PLUGIN_METHOD_NAMES: readonly PluginMethodName[] = [
  'setupPlugin',
  'teardownPlugin',
  'processEvent',
  'onEvent',
  'onSnapshot',
  'exportEvents',
  'runEveryMinute',
  'runEveryHour',
  'runEveryDay',
  'getSettings',
  'composeWebhook',
]

/**
 * The methods that make a config an exporter: the ingest hand-off and the exporters' fan-out both read
 * this one list, so a method the exporters handle is never left out of what the ingest workers hand over.
 */
export const EXPORTING_METHODS = ['onEvent', 'onSnapshot', 'composeWebhook', 'exportEvents'] as const satisfies readonly PluginMethodName[]

export type ExportingMethod = (typeof EXPORTING_METHODS)[number]

export type MetricOperation = 'sum' | 'max' | 'min'

/** Limits whose breach disposes the isolate: a call's deadline, the heap, background CPU per minute. */
export type PluginLimitKind = 'time' | 'memory' | 'cpu'

export interface PluginAttachment {
  content_type: string
  file_name: string
  /** Text (string) or binary (Uint8Array) contents. */
  contents: string | Uint8Array
}

export type LogLevel = 'log' | 'info' | 'warn' | 'error' | 'debug'

export interface PluginLogEntry {
  level: LogLevel
  message: string
  pluginName: string
  configId: string | number
  timestamp: Date
}

export interface PluginCapture {
  event: string
  properties: Record<string, unknown>
  pluginName: string
  configId: string | number
}

export interface PluginJobRequest {
  name: string
  payload: unknown
  /** When to run; `runNow` gives the current time. */
  runAt: Date
}

export interface HttpResponseData {
  status: number
  statusText: string
  url: string
  headers: [string, string][]
  body: Uint8Array
}

export interface HttpRequestInit {
  method?: string
  headers?: Record<string, string>
  body?: string | Uint8Array
  /** Milliseconds; the host also aborts at the call deadline. */
  timeoutMs?: number
}

export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'DELETE'

/**
 * What reading a response a plugin asked for may hold and take: the instance's bytes in flight,
 * one body's limit, and the call deadline — the bounds a plugin's `fetch` has, for host calls that
 * read responses of their own (`posthog.api`).
 */
export interface ResponseReading {
  inFlight: ByteBudget
  maxBytes: number
  timeoutMs: number
  signal?: AbortSignal
}

export interface ApiRequest {
  method: ApiMethod
  path: string
  options: Record<string, unknown>
}

/** One `cache.set` of a run (PluginCache.setMany). */
export interface CacheSet {
  key: string
  value: unknown
  ttlSeconds?: number
  options?: { jsonSerialize?: boolean }
}

export interface PluginCache {
  set(key: string, value: unknown, ttlSeconds?: number, options?: { jsonSerialize?: boolean }): Promise<void>
  incr(key: string): Promise<number>
  /**
   * Optional: the `incr` of each key in one round trip, in order, answering each key's count or its
   * own error. A crossing's consecutive `cache.incr` calls use it when the cache has one
   * (vm/host-dispatcher.ts); a cache without it (Try it's recording, tests) gets one `incr` per key.
   */
  incrMany?(keys: readonly string[]): Promise<(number | Error)[]>
  /**
   * The stored text of each key, in order, read at once: null for no key, an Error for a key that
   * holds a list (Redis's WRONGTYPE), undefined for a key not read because the values before it
   * (in this order) already come to `maxBytes`. A plugin's `cache.get` reads through this: the host
   * answers each distinct key of a crossing once, as text, and the sandbox decodes it for each
   * caller (its default, its `jsonSerialize`), so what the host holds for a crossing is bounded
   * however many callers read a value (vm/cache-reads.ts).
   */
  readMany(keys: readonly string[], maxBytes: number): Promise<(string | null | Error | undefined)[]>
  /** Optional: the `set` of each entry in one round trip, in order; each answers undefined or its own Error. */
  setMany?(sets: readonly CacheSet[]): Promise<(undefined | Error)[]>
  expire(key: string, ttlSeconds: number): Promise<boolean>
  lpush(key: string, elementOrArray: unknown): Promise<number>
  lrange(key: string, startIndex: number, endIndex: number): Promise<string[]>
  llen(key: string): Promise<number>
  lpop(key: string, count: number): Promise<string[]>
  lrem(key: string, count: number, elementKey: string): Promise<number>
}

export interface PluginStorage {
  get(key: string, defaultValue: unknown): Promise<unknown>
  set(key: string, value: unknown): Promise<void>
  del(key: string): Promise<void>
}

export interface PluginCursor {
  init(key: string, initialValue?: number): Promise<void>
  increment(key: string, incrementBy?: number): Promise<number>
}

/**
 * Capabilities the host grants one plugin config. libs/plugin-runtime provides Redis/Postgres-backed ones;
 * `createLocalHost` provides in-memory ones for tests and `plugin run`.
 */
export interface PluginHost {
  readonly config: Readonly<Record<string, unknown>>
  readonly attachments: Readonly<Record<string, PluginAttachment | null>>
  readonly cache: PluginCache
  readonly storage: PluginStorage
  readonly cursor: PluginCursor
  enqueueJob(job: PluginJobRequest): Promise<void>
  updateMetric(name: string, operation: MetricOperation, value: number): void
  /** The GeoIP City record of `ip` as JSON text (the sandbox parses it) or as an object; null when not located. */
  geoipLocate(ip: string): Promise<unknown>
  log(entry: PluginLogEntry): void
  capture(capture: PluginCapture): void
  /** `posthog.api.*`, its response read within `reading`; when absent the sandbox call rejects with a clear error. */
  api?(request: ApiRequest, reading: ResponseReading): Promise<HttpResponseData>
  /** Override for `fetch` (defaults to node-fetch with the call deadline). */
  fetch?(url: string, init: HttpRequestInit): Promise<HttpResponseData>
  /** Resolves a host module for the bridge (defaults to `require`). Return undefined when absent. */
  loadHostModule?(name: string): unknown
  /**
   * Whether a cache, storage, cursor or jobs call failed because the server's own store behind it
   * failed (Redis refusing writes, Postgres read-only or unreachable), as opposed to the plugin's
   * arguments or a limit it hit: the store and the cause ("Redis refused the command: OOM …"), or
   * null. A plugin call that fails after such a failure is a PluginStoreError, retried (see errors.ts).
   */
  storeFailure?(capability: StoreCapability, error: unknown): string | null
}

/** The host capabilities backed by the server's own stores. */
export type StoreCapability = 'cache' | 'storage' | 'cursor' | 'jobs'

/** Counts several instances share (see PluginInstanceOptions.shared). */
export interface SharedBounds {
  /** Sockets open (MAX_SOCKETS_PER_INSTANCE is each instance's own). */
  sockets: SocketCount
  /**
   * Bytes the host holds on the instances' behalf, outside every isolate: responses being read
   * (fetch, posthog.api, bridged SDKs; each instance's own bound is maxFetchBytes), cache values read
   * and not yet received (hostWorkMaxBytes), upload chunks not yet sent (MAX_UPLOAD_BYTES), host
   * work inputs waiting for and on a thread.
   */
  held: SharedByteBudget
}

export interface PluginInstanceOptions {
  /** Identifies the plugin config in errors and logs. */
  configId: string | number
  /** Whose instance this is (a team), for resources shared between instances: host work threads take turns between owners. */
  owner?: string | number
  /**
   * What the instance's sockets and host-held bytes also count against, shared with other instances
   * (its team's counts, within the process's): without them, only the instance's own bounds hold,
   * and a team's many configs multiply them.
   */
  shared?: SharedBounds
  /** Isolate heap limit in MB (default 128). */
  memoryLimitMb?: number
  /** Most MB each of the isolate's two young-generation semi-spaces grows to (default 8); 0: isolated-vm's sizing from memoryLimitMb (semi-space.ts). */
  semiSpaceMb?: number
  /** Deadline per call, sync and awaited async work (default 30 000 ms). */
  timeoutMs?: number
  /** Calls allowed inside one isolate at the same time; others wait (default 16). */
  maxConcurrentCalls?: number
  /** Fetch response bodies larger than this are rejected (default 50 MB). */
  maxFetchBytes?: number
  /**
   * Hosts and networks plugin `fetch` (and bridged `pg`) may reach although they are private:
   * hostnames (`db.internal`, `*.corp.example`), IPs and CIDRs (`10.0.0.0/8`, `fd00::/8`).
   * Default none: loopback, private, link-local and other non-internet addresses are refused.
   */
  fetchAllowedHosts?: readonly string[]
  /** The fleet's own services (its Redis), refused to this plugin's sockets whatever `fetchAllowedHosts` allows (closeToPlugins). */
  closedServices?: ClosedServices
  /** Redirects a plugin fetch follows, each re-checked, before it fails (default 10). */
  maxFetchRedirects?: number
  /** Largest input of one zlib/crypto/jsonwebtoken task on the host (default 16 MiB; PLUGIN_HOST_WORK_MAX_BYTES). */
  hostWorkMaxBytes?: number
  /** CPU the isolate may use outside calls (timers, SDK callbacks) per minute before it is disposed (default 5000). */
  backgroundCpuMsPerMinute?: number
  /** posthog.capture calls allowed per event of a processEvent/onEvent call (default 10). */
  capturesPerEvent?: number
  /** posthog.capture calls allowed per other call, and per minute outside calls (default 1000). */
  capturesPerCall?: number
  /** Bytes a captured event may have (CAPTURE_MAX_EVENT_BYTES, default 1 MiB): a name and properties longer than that together are refused unread. */
  captureMaxEventBytes?: number
  /** Bytes of a cache, storage or cursor key (default 1024). */
  cacheMaxKeyBytes?: number
  /** Bytes of a cache value (`set`, `lpush`), JSON-encoded as stored (default 1 MiB). */
  cacheMaxValueBytes?: number
  /** Bytes of a storage value, JSON-encoded as stored (default 1 MiB). */
  storageMaxValueBytes?: number
  /** Bytes of a job's payload, JSON-encoded as queued (default 1 MiB). */
  jobMaxPayloadBytes?: number
  /**
   * Start the isolate from the process's startup snapshot of the sandbox runtime (default true;
   * PLUGIN_RUNTIME_SNAPSHOT=false turns it off): the runtime is not compiled and run per isolate.
   * Off, or where isolated-vm cannot make a snapshot, each isolate runs the runtime itself.
   */
  runtimeSnapshot?: boolean
  /**
   * Told of every limit breach (time, memory, cpu) of this instance, also while loading; the
   * isolate is already disposed. A circuit breaker counts these.
   */
  onBreach?(error: PluginLimitError): void
}

export interface CallOptions {
  /** Overrides the instance deadline for this call. */
  timeoutMs?: number
  /**
   * How many of this processEvent/onEvent call's events a plugin captured itself: each of those may
   * capture one event, not PLUGIN_CAPTURES_PER_EVENT, so a plugin capturing from what it captured
   * adds a capture a level instead of ten times the level before.
   */
  capturedEvents?: number
  /**
   * The caller retries a call that ran out of time (the exporters: a destination that hangs). Such a
   * call that spent its deadline waiting, not computing (its isolate's CPU under half the deadline),
   * still fails and disposes its isolate, but is not a breach onBreach hears of: three hangs of a
   * warehouse in ten minutes disabled its export config for good, its events dead letters until
   * someone enabled it again.
   */
  retriedWhenWaiting?: boolean
}

export interface SerializedPluginError {
  name: string
  message: string
  isRetryError: boolean
  stack?: string
}

/** One entry per input event, in order. */
export type BatchEventResult = { ok: true; event: PluginEvent | null } | { ok: false; error: SerializedPluginError }

/** processEvent results kept as JSON text, so a chain of plugins never parses events on the host. */
export type BatchJsonResult = { ok: true; json: string | null } | { ok: false; error: SerializedPluginError }

/**
 * processEvent over a batch given as one JSON array text, answered as text: what the ingest chain
 * passes from plugin to plugin without splitting it into events.
 */
export interface BatchText {
  /** One character per input event, in order: `E` returned an event, `N` dropped it (falsy), `X` failed. */
  readonly codes: string
  /** The error of each `X`, in order. */
  readonly errors: readonly SerializedPluginError[]
  /**
   * The events returned (`E`), in order, as a JSON array: the next plugin's batch as it is (`[]`
   * when none was). Elements are separated by "\n,", so `events.split('\n')` gives each one (the
   * first behind `[`, the others behind their comma, the last followed by `]`).
   */
  readonly events: string
}

export interface PluginInstanceStats {
  calls: number
  inFlight: number
  heapUsedBytes: number
  /** The heap V8 has committed for the isolate, garbage and free room included: what a young generation that grew costs (semiSpaceMb). */
  heapCommittedBytes: number
  /** Memory outside the heap the isolate holds (copied-in strings over 1 KB, array buffers). */
  externalBytes: number
  lastUsedAt: number
}

export interface PluginInstance {
  readonly pluginName: string
  readonly configId: string | number
  /** Methods the plugin exports, e.g. ['setupPlugin', 'processEvent']. */
  readonly methods: readonly PluginMethodName[]
  /** Names of `export const jobs = {...}`. */
  readonly jobNames: readonly string[]
  /** `export const metrics = {...}`. */
  readonly metrics: Readonly<Record<string, MetricOperation>>
  readonly disposed: boolean
  hasMethod(name: PluginMethodName): boolean
  /** Calls a method; `meta` is appended inside the sandbox. Rejects with PluginError/PluginLimitError. */
  call(method: PluginMethodName, args: readonly unknown[], options?: CallOptions): Promise<unknown>
  runJob(name: string, payload: unknown, options?: CallOptions): Promise<unknown>
  /** processEvent over a whole batch in one boundary crossing; per-event results. */
  processEventBatch(events: readonly PluginEvent[], options?: CallOptions): Promise<BatchEventResult[]>
  /** The same over events already serialised; results stay serialised (`json` null: dropped). */
  processEventBatchJson(eventsJson: readonly string[], options?: CallOptions): Promise<BatchJsonResult[]>
  /** The same over a batch already serialised as one JSON array of `count` events; one text back (BatchText). */
  processEventBatchText(batchJson: string, count: number, options?: CallOptions): Promise<BatchText>
  stats(): PluginInstanceStats
  /** CPU the isolate has used so far, in ns (0 once disposed). Cheap to read; its heap grows only while this does. */
  cpuTimeNs(): bigint
  /** The isolate's used heap plus what it holds outside the heap, read on its own thread once it is idle; null once disposed. */
  heapBytes(): Promise<number | null>
  /**
   * Disposes the instance for a limit the host enforces outside it (a team's memory budget): as for
   * its own limits, the breach is logged as the plugin's and told to `onBreach`. `description`
   * completes "… exceeded its …".
   */
  exceed(limit: PluginLimitKind, description: string): PluginLimitError
  dispose(): void
}

export interface PluginVm {
  load(source: PluginSource, host: PluginHost, options: PluginInstanceOptions): Promise<PluginInstance>
}

/**
 * Why the pool unloads an instance: idle and evicted to make room at the cap, asked to, closing, to
 * give the process's memory back (PLUGIN_PROCESS_MEMORY_LIMIT_MB), or idle while the cap is lowered
 * to bring the process's resident memory down (PLUGIN_RSS_LIMIT_MB).
 */
export type EvictionReason = 'room' | 'explicit' | 'close' | 'memory' | 'rss'

export interface PluginPoolOptions<K> {
  /** Live isolates allowed before idle ones are evicted (least recently used first, unless `evictionRank`). */
  maxLiveInstances?: number
  /**
   * For a role that knows its keys' uses better than recency does (the scheduler knows its configs'
   * due times): making room evicts the idle instance ranked highest instead of the least recently
   * used one. `lastUsedAt`: when its last use began (ms since the epoch).
   */
  evictionRank?(key: K, instance: PluginInstance, lastUsedAt: number): number
  /**
   * `room`: to be awaited just before the isolate is made, after whatever the load waits for first
   * (its team's memory): the pool makes room then, and counts the load as live from there on. A
   * load still waiting holds no isolate and takes no room. Called by the pool once `create` returns
   * if `create` did not call it.
   */
  create(key: K, room: () => Promise<void>): Promise<PluginInstance>
  /** After an instance is created (setupPlugin goes here). */
  onLoad?(key: K, instance: PluginInstance): Promise<void>
  /** Before an instance is torn down (teardownPlugin goes here); not called for broken ones. */
  onEvict?(key: K, instance: PluginInstance, reason: EvictionReason): Promise<void>
  /** How long an evicted instance may finish the calls it has in flight before it is torn down anyway (default 30 s, the call deadline). */
  drainTimeoutMs?: number
}
