import type { Pool } from 'pg'
import type { HistoricalRun } from './interfaces'

interface Row {
  id: number
  plugin_config_id: number
  team_id: number
  range_from: Date
  range_to: Date
  batch_size: number
  status: 'running' | 'done'
  total_events: string
  enqueued_events: string
  next_seq: number
  cursor_timestamp: string | null
  cursor_uuid: string | null
  pending_end_timestamp: string | null
  pending_end_uuid: string | null
  created_at: Date
  finished_at: Date | null
}

// Cursor timestamps travel as text so their microseconds survive (a JS Date keeps milliseconds).
const COLUMNS = `id, plugin_config_id, team_id, range_from, range_to, batch_size, status, total_events, enqueued_events, next_seq,
  cursor_timestamp::text, cursor_uuid::text, pending_end_timestamp::text, pending_end_uuid::text, created_at, finished_at`

function toRun(r: Row): HistoricalRun {
  return {
    id: r.id,
    pluginConfigId: r.plugin_config_id,
    teamId: r.team_id,
    from: r.range_from.toISOString(),
    to: r.range_to.toISOString(),
    batchSize: r.batch_size,
    status: r.status,
    totalEvents: Number(r.total_events),
    enqueuedEvents: Number(r.enqueued_events),
    nextSeq: r.next_seq,
    cursor: r.cursor_timestamp && r.cursor_uuid ? { timestamp: r.cursor_timestamp, uuid: r.cursor_uuid } : null,
    pendingEnd: r.pending_end_timestamp && r.pending_end_uuid ? { timestamp: r.pending_end_timestamp, uuid: r.pending_end_uuid } : null,
    createdAt: r.created_at.toISOString(),
    finishedAt: r.finished_at?.toISOString() ?? null,
  }
}

/** The unfinished run for exactly this config and range, or a new one (counting the events it will export). */
export async function openHistoricalRun(
  pool: Pool,
  configId: number,
  teamId: number,
  from: Date,
  to: Date,
  batchSize: number,
  ignored: readonly string[],
): Promise<{ run: HistoricalRun; resumed: boolean }> {
  const existing = await pool.query<Row>(
    `SELECT ${COLUMNS} FROM export_historical_runs WHERE plugin_config_id = $1 AND range_from = $2 AND range_to = $3 AND status = 'running'`,
    [configId, from, to],
  )
  if (existing.rows.length > 0) return { run: toRun(existing.rows[0]), resumed: true }
  const {
    rows: [count],
  } = await pool.query<{ n: string }>(
    'SELECT count(*) AS n FROM events WHERE team_id = $1 AND timestamp >= $2 AND timestamp < $3 AND NOT (event = ANY($4::text[]))',
    [teamId, from, to, ignored],
  )
  const { rows } = await pool.query<Row>(
    `INSERT INTO export_historical_runs (plugin_config_id, team_id, range_from, range_to, batch_size, total_events)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (plugin_config_id, range_from, range_to) WHERE status = 'running' DO NOTHING
     RETURNING ${COLUMNS}`,
    [configId, teamId, from, to, batchSize, count.n],
  )
  if (rows.length === 0) return openHistoricalRun(pool, configId, teamId, from, to, batchSize, ignored)
  return { run: toRun(rows[0]), resumed: false }
}

export async function setPendingEnd(pool: Pool, runId: number, end: { timestamp: string; uuid: string }): Promise<void> {
  await pool.query('UPDATE export_historical_runs SET pending_end_timestamp = $2, pending_end_uuid = $3, updated_at = now() WHERE id = $1', [
    runId,
    end.timestamp,
    end.uuid,
  ])
}

/** The page ending at `end` is in the queue: move the cursor past it. */
export async function advanceCursor(pool: Pool, runId: number, end: { timestamp: string; uuid: string }, events: number): Promise<void> {
  await pool.query(
    `UPDATE export_historical_runs SET cursor_timestamp = $2, cursor_uuid = $3, pending_end_timestamp = NULL, pending_end_uuid = NULL,
       next_seq = next_seq + 1, enqueued_events = enqueued_events + $4, updated_at = now() WHERE id = $1`,
    [runId, end.timestamp, end.uuid, events],
  )
}

export async function finishHistoricalRun(pool: Pool, runId: number): Promise<void> {
  await pool.query(`UPDATE export_historical_runs SET status = 'done', finished_at = now(), updated_at = now() WHERE id = $1`, [runId])
}

export async function listHistoricalRuns(pool: Pool, configId: number): Promise<HistoricalRun[]> {
  const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM export_historical_runs WHERE plugin_config_id = $1 ORDER BY id`, [configId])
  return rows.map(toRun)
}
