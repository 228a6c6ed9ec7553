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

export interface ReplayDeadLettersInput {
  /** All pending dead letters when absent (the oldest 1 000 per request; `remaining` says how many are left). */
  ids?: number[]
}

export interface ReplayResult {
  replayed: number
  events: number
  /** Dead letters left pending, oldest replayed first, because the config, its team or all teams had no room (half of each pending-event limit). */
  not_replayed: number
  /** Why, naming the limit's variable; null when all were replayed. */
  held_back: string | null
  /** Dead letters asked for still pending: one request replays at most 1 000 (ask again for the next), or a limit held them back; 0 once all are replayed. */
  remaining: number
}

export interface StartHistoricalExportInput {
  from: string
  to: string
  batch_size?: number
}

/** A historical export run; the exporters execute it. */
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
