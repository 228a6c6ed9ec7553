import type { Pool } from 'pg'
import { DEAD_LETTER_COLUMNS, DeadLetterRecord } from './dead-letter-record'

export interface DeadLetterFilter {
  since: Date | null
  onlyPending: boolean
  /** Only these dead letters (of the config); null for all. */
  ids: readonly number[] | null
  /** Newest first and at most this many; null for all, oldest first. */
  newest: number | null
  /** With `newest` null: oldest first and at most this many; null (or absent) for all. */
  oldest?: number | null
}

export async function listDeadLetterRecords<Method extends string = string>(
  pool: Pool,
  configId: number,
  f: DeadLetterFilter,
): Promise<DeadLetterRecord<Method>[]> {
  const { rows } = await pool.query<DeadLetterRecord<Method>>(
    `SELECT ${DEAD_LETTER_COLUMNS} FROM export_dead_letters
     WHERE plugin_config_id = $1 AND ($2::timestamptz IS NULL OR created_at >= $2) AND (NOT $3 OR replayed_at IS NULL)
       AND ($4::bigint[] IS NULL OR id = ANY($4::bigint[]))
     ORDER BY id ${f.newest === null ? 'ASC' : 'DESC'} LIMIT $5`,
    [configId, f.since, f.onlyPending, f.ids, f.newest ?? f.oldest ?? null],
  )
  return rows
}
