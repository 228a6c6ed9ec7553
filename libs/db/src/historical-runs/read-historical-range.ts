import type { Pool } from 'pg'

/** A run's range in ISO 8601 (microseconds kept), whatever the session's DateStyle. */
export interface HistoricalRange {
  from: string
  to: string
}

/**
 * The run's range, for its reads of events to name as constants: a read whose bounds come from the
 * run's row (a join) is pruned only at run time, after its plan has locked every partition of the
 * events table and its key (about twice as many relations as partitions); constants let the planner prune
 * before it locks. Null: no such run.
 */
export async function readHistoricalRange(pool: Pool, runId: number): Promise<HistoricalRange | null> {
  const { rows } = await pool.query<HistoricalRange>(
    `SELECT to_json(range_from) #>> '{}' AS from, to_json(range_to) #>> '{}' AS to FROM export_historical_runs WHERE id = $1`,
    [runId],
  )
  return rows[0] ?? null
}
