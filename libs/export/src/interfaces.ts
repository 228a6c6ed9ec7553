/** Public types of the exporter: delivery jobs, settings, dead letters, historical runs, status. */
import type { Config } from '@plugin-server/core'
import type { ProcessedPluginEvent } from '@plugin-server/meta'

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
export type DeliverySource = { type: 'live' } | { type: 'historical'; runId: number; seq: number } | { type: 'replay'; deadLetterId: number }

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

export interface HistoricalRun {
  id: number
  pluginConfigId: number
  teamId: number
  from: string
  to: string
  batchSize: number
  status: 'running' | 'done'
  totalEvents: number
  enqueuedEvents: number
  nextSeq: number
  cursor: { timestamp: string; uuid: string } | null
  pendingEnd: { timestamp: string; uuid: string } | null
  createdAt: string
  finishedAt: string | null
}

export interface HistoricalProgress {
  runId: number
  total: number
  enqueued: number
  done: number
  /** Events per second since this command started. */
  rate: number
  etaSeconds: number | null
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

/** A historical run and how far the exporters got with it. */
export interface HistoricalRunProgress {
  id: number
  status: HistoricalRun['status']
  from: string
  to: string
  total: number
  enqueued: number
  /** Events whose batch the exporters finished (delivered or kept as a dead letter). */
  done: number
  createdAt: string
  finishedAt: string | null
}
