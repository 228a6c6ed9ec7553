/** Public types of the exporter: delivery jobs, settings, dead letters, historical runs, status. */
import type { Config } from '@plugin-server/core'
import type { HistoricalRunRecord, HistoricalRunStatus } from '@plugin-server/db'
import type { ProcessedPluginEvent } from '@plugin-server/plugin-runtime'

/** The plugin methods the exporter calls; each delivery job is for one of them. */
export type ExportMethod = 'exportEvents' | 'onEvent' | 'onSnapshot' | 'composeWebhook'

/** Defined in meta, which "try it" shares with the exporters. */
export type { ProcessedPluginEvent }

/** One failed attempt, kept on the job (and in its dead letter) so the retry spacing can be checked. */
export interface AttemptRecord {
  at: number
  error: string
  retryError: boolean
}

/** Where a delivery came from: the live stream, a historical run (to count its progress) or a replay. */
export type DeliverySource =
  | { type: 'live' }
  /** `events`: how many the page had when handed over (its exported and failed counts add up to it). */
  | { type: 'historical'; runId: number; seq: number; events?: number }
  | { type: 'replay'; deadLetterId: number }

/** One BullMQ job on the deliveries queue: events for one method of one plugin config. */
export interface DeliveryJobData {
  configId: number
  teamId: number
  method: ExportMethod
  events: ProcessedPluginEvent[]
  source: DeliverySource
  /** Failed attempts so far, oldest first; its length is the number of retries scheduled. */
  attempts: AttemptRecord[]
  /** Set when the events were delivered; the job then carries no events (and a redelivery does nothing). */
  delivered?: boolean
  /** Events of this job already kept as dead letters by earlier attempts (a historical page's failed count). */
  deadLettered?: number
  /** Its events were counted as seen (an attempt delivered part of them, then the run failed before recording it). */
  seen?: boolean
}

/** The EXPORT_* settings of the one validated configuration, and the time scale (tests). */
export type ExportSettings = Config['export'] & {
  /** Divides every retry delay and the 24 h horizon (tests). */
  timeScale: number
}

/** Per-config export options read from the plugin config (PostHog's field names). */
export interface ConfigExportOptions {
  ignoredEvents: ReadonlySet<string>
  maxBytes: number
  maxAgeMs: number
}

export type ExportMetricName = 'events_seen' | 'events_delivered_successfully' | 'retry_errors' | 'other_errors' | 'undelivered_events'

export const EXPORT_METRIC_NAMES: readonly ExportMetricName[] = [
  'events_seen',
  'events_delivered_successfully',
  'retry_errors',
  'other_errors',
  'undelivered_events',
]

export type ExportCounts = Record<ExportMetricName, number>

/** What happened to each event of one attempt; the processor turns it into retries, dead letters and metrics. */
export interface DeliveryOutcome {
  delivered: ProcessedPluginEvent[]
  /** Failed with RetryError (or, for webhooks, a network error, 429 or 5xx): tried again. */
  retry: { events: ProcessedPluginEvent[]; errors: number; message: string } | null
  /** Failed otherwise: never tried again. */
  failed: { events: ProcessedPluginEvent[]; errors: number; message: string } | null
}

export interface DeadLetter {
  id: number
  pluginConfigId: number
  teamId: number
  method: ExportMethod
  eventCount: number
  error: string
  retryError: boolean
  attempts: number
  firstAttemptAt: string
  lastAttemptAt: string
  createdAt: string
  replayedAt: string | null
}

/** A run as stored (see libs/db historical-runs). */
export type HistoricalRun = HistoricalRunRecord

/** A historical run and how far the exporters got with it. */
export interface HistoricalRunProgress {
  id: number
  pluginConfigId: number
  status: HistoricalRunStatus
  from: string
  to: string
  batchSize: number
  /** Events of the range stored before `snapshotAt`, fixed when an exporter starts the run; null while queued. */
  total: number | null
  /** Events handed to the exporters as pages. */
  enqueued: number
  /** Delivered to the plugin. */
  exported: number
  /** Kept as dead letters (replayable). */
  failed: number
  /** Left out by the config's exportEventsToIgnore. */
  skipped: number
  /** exported + failed + skipped: never more than `total`. */
  done: number
  /** done / total in %, rounded down; null while the total is not known. */
  percent: number | null
  /** Events per second since an exporter started the run (until it finished). */
  rate: number
  /** Seconds left at that rate; null when not running or nothing done yet. */
  etaSeconds: number | null
  snapshotAt: string
  createdAt: string
  startedAt: string | null
  cancelledAt: string | null
  finishedAt: string | null
  /** Why the last attempt to run it stopped (it is retried), if it did. */
  lastError: { message: string; time: string } | null
}

export interface ExportStatus {
  pluginConfigId: number
  teamId: number
  plugin: string
  /** The reference's metrics, fleet-wide (the plugin's own metrics are listed under `pluginMetrics`). */
  metrics: ExportCounts
  pluginMetrics: Record<string, number>
  buffer: { events: number; bytes: number; ageSeconds: number | null }
  pendingBatches: number
  oldestPendingBatchAgeSeconds: number | null
  retriesInFlight: number
  deadLetters: { pending: number; pendingEvents: number; replayed: number }
  historicalRuns: HistoricalRunProgress[]
}
