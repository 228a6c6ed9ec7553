import type { Pool } from 'pg'
import type { HistoricalRunStatus } from './historical-run-record'

export interface HistoricalCheckpoint {
  /** The page number this driver handed over; the checkpoint applies only if the run is still at it. */
  seq: number
  end: { timestamp: string; uuid: string }
  enqueued: number
  skipped: number
}

/**
 * Page `seq` is in the queue: the cursor moves past it. Answers the run's status, or null when the
 * run is no longer at page `seq` (another driver took it over and went on: this one must stop).
 */
export async function advanceHistoricalCursor(pool: Pool, runId: number, c: HistoricalCheckpoint): Promise<HistoricalRunStatus | null> {
  const { rows } = await pool.query<{ status: HistoricalRunStatus }>(
    `UPDATE export_historical_runs SET cursor_timestamp = $2, cursor_uuid = $3, pending_end_timestamp = NULL, pending_end_uuid = NULL,
       next_seq = next_seq + 1, enqueued_events = enqueued_events + $4, skipped_events = skipped_events + $5, updated_at = now()
     WHERE id = $1 AND next_seq = $6 RETURNING status`,
    [runId, c.end.timestamp, c.end.uuid, c.enqueued, c.skipped, c.seq],
  )
  return rows[0]?.status ?? null
}
