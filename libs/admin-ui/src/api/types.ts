// The shapes of the admin API answers (libs/admin-api/API.md). Dates arrive as ISO strings.

export type Me = { kind: 'operator' } | { kind: 'team'; team_id: number; team_name: string }

export interface Team {
  id: number
  name: string
  api_token: string
  created_at: string
}

export type ConfigFieldType = 'string' | 'attachment' | 'choice'

/** One entry of plugin.json `config`: a field (with `key`) or a text block (only `markdown`). */
export interface ConfigField {
  markdown?: string
  key?: string
  name?: string
  type?: ConfigFieldType
  default?: string
  hint?: string
  required?: boolean
  secret?: boolean
  choices?: string[]
}

export interface PayloadFieldSpec {
  type?: string
  title?: string
  required?: boolean
}

export interface PublicJobSpec {
  payload?: Record<string, PayloadFieldSpec>
}

export interface PluginJson {
  name: string
  description?: string
  url?: string
  config?: ConfigField[]
  publicJobs?: Record<string, PublicJobSpec>
  [key: string]: unknown
}

export interface PluginSummary {
  id: number
  name: string
  description: string
  url: string | null
  version: number
  content_hash: string
  config_schema: ConfigField[]
  created_at: string
  updated_at: string
}

export interface PluginVersion {
  version: number
  content_hash: string
  created_at: string
  /** The version configs without a pin run. */
  current: boolean
  /** Configs running it (pinned to it, or following the plugin while it is current). */
  config_count: number
  config_schema: ConfigField[]
}

export interface SetCurrentVersionResult {
  status: 'changed' | 'unchanged'
  message: string
  plugin: PluginSummary
  previous_version: number
  following_configs: number
}

export interface PluginDetail extends PluginSummary {
  plugin_json: PluginJson
  versions: PluginVersion[]
}

export interface InstallResult {
  status: 'installed' | 'updated' | 'unchanged'
  message: string
  plugin: PluginSummary
}

export interface AttachmentView {
  key: string
  file_name: string
  content_type: string
  size: number
}

export type SecretState = 'set' | 'not set'

export interface PluginConfigView {
  id: number
  team_id: number
  plugin_id: number
  plugin_name: string
  /** The version it runs: `pinned_version`, or the plugin's current version. */
  plugin_version: number
  pinned_version: number | null
  enabled: boolean
  order: number
  config: Record<string, string>
  secret_fields: Record<string, SecretState>
  attachments: AttachmentView[]
  error: unknown
  disabled_reason: string | null
  created_at: string
  updated_at: string
}

export interface NewAttachment {
  file_name: string
  content_type: string
  contents_base64: string
}

export interface CreateConfigInput {
  plugin_id: number | string
  config?: Record<string, string>
  attachments?: Record<string, NewAttachment>
  order?: number
  enabled?: boolean
  pinned_version?: number | null
}

export interface UpdateConfigInput {
  config?: Record<string, string>
  order?: number
  enabled?: boolean
  /** A version pins, null unpins, absent leaves the pin. */
  pinned_version?: number | null
}

export interface ExportMetrics {
  events_seen: number
  events_delivered_successfully: number
  retry_errors: number
  other_errors: number
  undelivered_events: number
}

export type SetupState = 'ready' | 'pending' | 'retrying' | 'failed' | 'disabled' | 'unknown'

export interface ScheduledRun {
  started_at: string
  duration_ms: number
  outcome: 'ok' | 'error'
  error?: string
}

export interface ScheduledTask {
  task: string
  next_run_at: string | null
  last_runs: ScheduledRun[]
}

export interface ConfigStatus {
  config: PluginConfigView
  setup: { status: SetupState; attempts: number; next_attempt_at: string | null; last_error: string | null; updated_at: string }
  last_error: { message: string; time: string } | null
  disabled_reason: string | null
  export: {
    metrics: ExportMetrics
    buffer: { events: number; bytes: number; ageSeconds: number | null }
    pending_batches: number
    retries_in_flight: number
    dead_letters: { pending: number; pendingEvents: number; replayed: number }
  } | null
  plugin_metrics: Record<string, number>
  scheduled: ScheduledTask[]
  /** The last hour of the config's processEvent, fleet-wide. */
  processing: ProcessingSummary
  /** The plugin's methods as the workers that loaded it saw them; null until one has. */
  methods: string[] | null
  /** Whether the plugin exports events; null while no worker has loaded it. */
  exports: boolean | null
}

export interface ProcessingCounts {
  events_in: number
  events_returned: number
  events_dropped: number
  events_failed: number
  calls: number
  time_ms: number
}

export interface ProcessingSummary extends ProcessingCounts {
  p50_ms: number | null
  p99_ms: number | null
}

export interface ProcessingSeries {
  bucket_seconds: number
  points: (ProcessingSummary & { t: string })[]
  total: ProcessingSummary
}

export interface ConfigsHealth {
  minutes: number
  configs: (ProcessingCounts & { id: number })[]
}

export interface ExportSeriesPoint extends ExportMetrics {
  t: string
}

export interface ExportSeries {
  bucket_seconds: number
  points: ExportSeriesPoint[]
}

export const LOG_LEVELS = ['DEBUG', 'LOG', 'INFO', 'WARN', 'ERROR'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]
export const LOG_SOURCES = ['SYSTEM', 'PLUGIN', 'CONSOLE'] as const
export type LogSource = (typeof LOG_SOURCES)[number]

/** Every page of log rows is oldest first (ascending id): the last row is the newest, and its id is the follow cursor. */
export interface LogRow {
  id: number
  timestamp: string
  source: LogSource
  type: LogLevel
  /** The first line says what happened; an ERROR from plugin code has the plugin's stack frames on the lines after it. */
  message: string
}

export interface LogQuery {
  levels: string[]
  sources: string[]
  search: string
  /** Only rows with a larger id (the follow cursor); without it, the newest `limit` rows. */
  after?: number
  limit?: number
  /** With `after`: seconds (1–30) the server may hold the request until a row arrives. */
  wait?: number
}

export type JobState = 'queued' | 'running' | 'retrying' | 'completed' | 'failed'

export interface JobView {
  id: string | number
  name: string
  payload: unknown
  state: JobState
  attempts: number | null
  enqueued_at: string | null
  started_at: string | null
  finished_at: string | null
  duration_ms: number | null
  error: string | null
}

export interface JobsView {
  public_jobs: Record<string, PublicJobSpec>
  jobs: JobView[]
}

export interface TriggeredJob {
  jobId: string | number
  pluginConfigId: number
  teamId: number
  name: string
  payload: unknown
}

export interface DeadLetter {
  id: number
  method: string
  event_count: number
  error: string
  /** True when the export gave up after exhausting RetryError retries; false for another error. */
  retry_error: boolean
  attempts: number
  first_attempt_at: string | null
  last_attempt_at: string | null
  created_at: string
  replayed_at: string | null
}

export interface ReplayResult {
  replayed: number
  events: number
}

/** GET /api/configs/:id/historical-exports(/:run): a run the exporters execute. */
export interface HistoricalRun {
  id: number
  status: 'queued' | 'running' | 'done' | 'cancelled'
  from: string
  to: string
  batch_size: number
  /** Fixed when an exporter starts the run; null while queued. */
  total: number | null
  enqueued: number
  exported: number
  failed: number
  skipped: number
  done: number
  percent: number | null
  rate: number
  eta_seconds: number | null
  snapshot_at: string
  created_at: string
  started_at: string | null
  cancelled_at: string | null
  finished_at: string | null
  error: { message: string; time: string } | null
}

export interface PluginEvent {
  event: string
  [key: string]: unknown
}

export type TryTarget =
  { plugin_config_id: number } | { plugin_id: number; config?: Record<string, string>; attachments?: Record<string, NewAttachment> } | { chain: true }

export interface TryHostCall {
  call: string
  args: unknown[]
  performed: boolean
  result?: unknown
}

export interface TryStep {
  plugin_config_id: number | null
  plugin: string
  method: string
  duration_ms: number
  output?: unknown
  error: string | null
  logs: { level: string; message: string }[]
  host_calls: TryHostCall[]
}

export interface TryResult {
  input: PluginEvent
  output: PluginEvent | null
  dropped: boolean
  steps: TryStep[]
}
