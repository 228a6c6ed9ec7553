import type { Pool } from 'pg'
import { readHistoricalRange } from './read-historical-range'

export interface HistoricalEventRow {
  uuid: string
  team_id: number
  event: string
  distinct_id: string
  properties: Record<string, unknown>
  timestamp: Date
  ip: string | null
  /** The timestamp with its microseconds, for the cursor. */
  ts_key: string
}

export interface HistoricalPageQuery {
  runId: number
  /** After this (timestamp, uuid), exclusive; null: from the start of the range. */
  after: { timestamp: string; uuid: string } | null
  /** Up to this (timestamp, uuid), inclusive: an interrupted page read again exactly; null: `limit` rows. */
  until: { timestamp: string; uuid: string } | null
  limit: number
}

/** The next page of the run's events, in (timestamp, uuid) order, only those stored before its snapshot bound. */
export async function readHistoricalPage(pool: Pool, q: HistoricalPageQuery): Promise<HistoricalEventRow[]> {
  const range = await readHistoricalRange(pool, q.runId)
  if (!range) return []
  // The range and the cursors as constants too: the partitions before the cursor and after the range (or the `until` cursor) are not locked.
  const { rows } = await pool.query<HistoricalEventRow>(
    `SELECT e.uuid::text, e.team_id, e.event, e.distinct_id, e.properties, e.timestamp, e.ip, e.timestamp::text AS ts_key
     FROM export_historical_runs r
     JOIN events e ON e.team_id = r.team_id AND e.timestamp >= r.range_from AND e.timestamp < r.range_to AND e.created_at < r.snapshot_at
     WHERE r.id = $1
       AND e.timestamp >= COALESCE($2::timestamptz, $7::timestamptz) AND e.timestamp < $8::timestamptz
       AND e.timestamp <= COALESCE($4::timestamptz, 'infinity')
       AND ($2::timestamptz IS NULL OR (e.timestamp, e.uuid) > ($2::timestamptz, $3::uuid))
       AND ($4::timestamptz IS NULL OR (e.timestamp, e.uuid) <= ($4::timestamptz, $5::uuid))
     ORDER BY e.timestamp, e.uuid
     LIMIT $6`,
    [
      q.runId,
      q.after?.timestamp ?? null,
      q.after?.uuid ?? null,
      q.until?.timestamp ?? null,
      q.until?.uuid ?? null,
      q.until ? 2147483647 : q.limit,
      range.from,
      range.to,
    ],
  )
  return rows
}
