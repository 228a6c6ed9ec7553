/** One historical export run as stored (`export_historical_runs`); the operations in this folder read and change it. */
export type HistoricalRunStatus = 'queued' | 'running' | 'done' | 'cancelled'

export interface HistoricalRunRecord {
  id: number
  pluginConfigId: number
  teamId: number
  from: string
  to: string
  batchSize: number
  /** Pages handed to the exporters and not finished yet, at most. */
  maxInFlight: number
  status: HistoricalRunStatus
  /** Events of the range stored before `snapshotAt`; null until an exporter has counted them. */
  totalEvents: number | null
  enqueuedEvents: number
  skippedEvents: number
  /** Final counts, set when the run ends (live counts are the exporters', in Redis). */
  exportedEvents: number | null
  failedEvents: number | null
  nextSeq: number
  cursor: { timestamp: string; uuid: string } | null
  pendingEnd: { timestamp: string; uuid: string } | null
  /** Events stored at or after this time are not part of the run. */
  snapshotAt: string
  createdAt: string
  startedAt: string | null
  cancelledAt: string | null
  finishedAt: string | null
  lastError: { message: string; time: string } | null
}

export interface HistoricalRunRow {
  id: number
  plugin_config_id: number
  team_id: number
  range_from: Date
  range_to: Date
  batch_size: number
  max_in_flight: number
  status: HistoricalRunStatus
  total_events: string | null
  enqueued_events: string
  skipped_events: string
  exported_events: string | null
  failed_events: string | null
  next_seq: number
  cursor_timestamp: string | null
  cursor_uuid: string | null
  pending_end_timestamp: string | null
  pending_end_uuid: string | null
  snapshot_at: Date
  created_at: Date
  started_at: Date | null
  cancelled_at: Date | null
  finished_at: Date | null
  last_error: string | null
  last_error_at: Date | null
}

// Cursor timestamps travel as text so their microseconds survive (a JS Date keeps milliseconds).
export const HISTORICAL_RUN_COLUMNS = `id, plugin_config_id, team_id, range_from, range_to, batch_size, max_in_flight, status, total_events,
  enqueued_events, skipped_events, exported_events, failed_events, next_seq, cursor_timestamp::text, cursor_uuid::text,
  pending_end_timestamp::text, pending_end_uuid::text, snapshot_at, created_at, started_at, cancelled_at, finished_at, last_error, last_error_at`

const count = (n: string | null): number | null => (n === null ? null : Number(n))

export function toHistoricalRun(r: HistoricalRunRow): HistoricalRunRecord {
  return {
    id: r.id,
    pluginConfigId: r.plugin_config_id,
    teamId: r.team_id,
    from: r.range_from.toISOString(),
    to: r.range_to.toISOString(),
    batchSize: r.batch_size,
    maxInFlight: r.max_in_flight,
    status: r.status,
    totalEvents: count(r.total_events),
    enqueuedEvents: Number(r.enqueued_events),
    skippedEvents: Number(r.skipped_events),
    exportedEvents: count(r.exported_events),
    failedEvents: count(r.failed_events),
    nextSeq: r.next_seq,
    cursor: r.cursor_timestamp && r.cursor_uuid ? { timestamp: r.cursor_timestamp, uuid: r.cursor_uuid } : null,
    pendingEnd: r.pending_end_timestamp && r.pending_end_uuid ? { timestamp: r.pending_end_timestamp, uuid: r.pending_end_uuid } : null,
    snapshotAt: r.snapshot_at.toISOString(),
    createdAt: r.created_at.toISOString(),
    startedAt: r.started_at?.toISOString() ?? null,
    cancelledAt: r.cancelled_at?.toISOString() ?? null,
    finishedAt: r.finished_at?.toISOString() ?? null,
    lastError: r.last_error !== null && r.last_error_at !== null ? { message: r.last_error, time: r.last_error_at.toISOString() } : null,
  }
}
