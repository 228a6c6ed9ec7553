import type { ClosedServices, LogLevel, PluginEvent, PluginVm } from '@plugin-server/plugin-vm'
import type { AttachmentInput, ConfigInputValue, ManagementContext } from '@plugin-server/management'
import type { GeoIpLocator } from '@plugin-server/plugin-runtime'
import type { TryGate } from './try-gate'

/** What a dry run may put in its answer: plain JSON, nothing the response writer has to guess about. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/** The plugin settings the workers run with (a subset of `Config['plugins']`); a dry run obeys the same. */
export interface TrySettings {
  memoryLimitMb: number
  /** Deadline of one plugin call; the whole dry run has its own, shorter one on top. */
  timeoutMs: number
  fetchAllowedHosts: readonly string[]
  /** The fleet's own services, refused to the dry run's plugins whatever the allowlist (none: nothing closed). */
  closedServices?: ClosedServices
  geoipDatabasePath: string
  posthogApiHost: string
  posthogPersonalApiKey: string
  /** CAPTURE_MAX_EVENT_BYTES: an event a plugin returns that is longer fails its step, as in the ingest workers; none when unset. */
  maxEventBytes?: number
}

/** A management context plus what running plugins needs. Everything optional has a default. */
export interface TryContext extends ManagementContext {
  /** Missing values: the workers' defaults, and no fetch allowlist (private addresses refused). */
  settings?: Partial<TrySettings>
  /** One per process: the database is read into memory on first use. */
  geoip?: GeoIpLocator
  vm?: PluginVm
  /** Bounds dry runs per process; a shared default gate when absent. */
  gate?: TryGate
  /** Deadline of the whole dry run (default 10 000 ms). */
  deadlineMs?: number
}

export type TryTarget =
  | { kind: 'config'; pluginConfigId: number }
  | { kind: 'plugin'; plugin: number | string; config: Record<string, ConfigInputValue>; attachments: AttachmentInput[] }
  | { kind: 'chain' }

/** `event` and `target` are checked here (errors name the field), so every caller validates the same way. */
export interface TryInput {
  teamId: number
  event: unknown
  /** `{ plugin_config_id }`, `{ plugin_id, config?, attachments? }` or `{ chain: true }`, as the HTTP body gives it. */
  target: unknown
}

export type TryMethod = 'setupPlugin' | 'processEvent' | 'onEvent' | 'onSnapshot' | 'exportEvents' | 'composeWebhook' | 'teardownPlugin'

export interface TryLog {
  level: LogLevel
  message: string
}

/** One thing a plugin asked the host to do. `performed` false: recorded only (writes, captures, jobs, …). */
export interface TryHostCall {
  call: string
  args: JsonValue[]
  performed: boolean
  result?: JsonValue
  error?: string
  /** A request the dry run did not send (it sends only GET and HEAD): why. Not an error of the plugin's. */
  not_sent?: string
}

export interface TryStep {
  plugin_config_id: number | null
  plugin: string
  method: TryMethod
  duration_ms: number
  output?: JsonValue
  error: string | null
  /** The plugin's frames (its own files and lines) when it threw, secrets scrubbed. */
  stack?: string
  /**
   * The step ended because the plugin let the refusal of a request the dry run did not send
   * propagate (a POST, say): what it was. `error` is then null: on the workers it would have been sent.
   */
  not_sent?: string
  logs: TryLog[]
  host_calls: TryHostCall[]
}

export interface TryResult {
  input: PluginEvent
  output: PluginEvent | null
  dropped: boolean
  steps: TryStep[]
}
