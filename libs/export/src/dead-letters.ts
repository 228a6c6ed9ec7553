import type { Pool } from 'pg'
import type { AttemptRecord, DeadLetter, ExportMethod, ProcessedPluginEvent } from './interfaces'

export interface NewDeadLetter {
  jobKey: string
  configId: number
  teamId: number
  method: ExportMethod
  events: readonly ProcessedPluginEvent[]
  error: string
  retryError: boolean
  attempts: readonly AttemptRecord[]
}

/** Idempotent on the job key: a delivery job redelivered after a crash records its dead letter once. */
export async function insertDeadLetter(pool: Pool, letter: NewDeadLetter): Promise<boolean> {
  const first = letter.attempts[0]?.at ?? Date.now()
  const last = letter.attempts[letter.attempts.length - 1]?.at ?? first
  const result = await pool.query(
    `INSERT INTO export_dead_letters (job_key, plugin_config_id, team_id, method, events, event_count, error, retry_error, attempts, first_attempt_at, last_attempt_at)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, to_timestamp($10 / 1000.0), to_timestamp($11 / 1000.0))
     ON CONFLICT (job_key) DO NOTHING`,
    [
      letter.jobKey,
      letter.configId,
      letter.teamId,
      letter.method,
      JSON.stringify(letter.events).replace(/\\u0000/g, ''),
      letter.events.length,
      letter.error,
      letter.retryError,
      letter.attempts.length,
      first,
      last,
    ],
  )
  return (result.rowCount ?? 0) > 0
}

interface Row {
  id: string
  plugin_config_id: number
  team_id: number
  method: ExportMethod
  event_count: number
  error: string
  retry_error: boolean
  attempts: number
  first_attempt_at: Date
  last_attempt_at: Date
  created_at: Date
  replayed_at: Date | null
}

const COLUMNS = 'id, plugin_config_id, team_id, method, event_count, error, retry_error, attempts, first_attempt_at, last_attempt_at, created_at, replayed_at'

export function toDeadLetter(r: Row): DeadLetter {
  return {
    id: Number(r.id),
    pluginConfigId: r.plugin_config_id,
    teamId: r.team_id,
    method: r.method,
    eventCount: r.event_count,
    error: r.error,
    retryError: r.retry_error,
    attempts: r.attempts,
    firstAttemptAt: r.first_attempt_at.toISOString(),
    lastAttemptAt: r.last_attempt_at.toISOString(),
    createdAt: r.created_at.toISOString(),
    replayedAt: r.replayed_at?.toISOString() ?? null,
  }
}

export interface DeadLetterQuery {
  since?: Date
  onlyPending?: boolean
  /** Only these dead letters (of the config). */
  ids?: readonly number[]
  /** Newest first and at most `limit` of them; by default all, oldest first. */
  newest?: number
}

export async function listDeadLetters(pool: Pool, configId: number, options: DeadLetterQuery = {}): Promise<DeadLetter[]> {
  const { rows } = await pool.query<Row>(
    `SELECT ${COLUMNS} FROM export_dead_letters
     WHERE plugin_config_id = $1 AND ($2::timestamptz IS NULL OR created_at >= $2) AND (NOT $3 OR replayed_at IS NULL)
       AND ($4::bigint[] IS NULL OR id = ANY($4::bigint[]))
     ORDER BY id ${options.newest === undefined ? 'ASC' : 'DESC'} LIMIT $5`,
    [configId, options.since ?? null, options.onlyPending ?? false, options.ids ?? null, options.newest ?? null],
  )
  return rows.map(toDeadLetter)
}

export async function deadLetterEvents(pool: Pool, id: number): Promise<ProcessedPluginEvent[]> {
  const { rows } = await pool.query<{ events: ProcessedPluginEvent[] }>('SELECT events FROM export_dead_letters WHERE id = $1', [id])
  return rows[0]?.events ?? []
}

export async function markReplayed(pool: Pool, id: number): Promise<void> {
  await pool.query('UPDATE export_dead_letters SET replayed_at = now() WHERE id = $1', [id])
}

export async function deadLetterCounts(pool: Pool, configId: number): Promise<{ pending: number; pendingEvents: number; replayed: number }> {
  const { rows } = await pool.query<{ pending: string; pending_events: string; replayed: string }>(
    `SELECT count(*) FILTER (WHERE replayed_at IS NULL) AS pending,
            coalesce(sum(event_count) FILTER (WHERE replayed_at IS NULL), 0) AS pending_events,
            count(*) FILTER (WHERE replayed_at IS NOT NULL) AS replayed
     FROM export_dead_letters WHERE plugin_config_id = $1`,
    [configId],
  )
  return { pending: Number(rows[0].pending), pendingEvents: Number(rows[0].pending_events), replayed: Number(rows[0].replayed) }
}
