import type { Pool } from 'pg'

export interface LatestEventRecord {
  event: string
  distinct_id: string
  properties: Record<string, unknown>
}

/** A team's most recent stored event of one name (by event timestamp); null when there is none. */
export async function readLatestEvent(pool: Pool, teamId: number, event: string): Promise<LatestEventRecord | null> {
  const { rows } = await pool.query<LatestEventRecord>(
    'SELECT event, distinct_id, properties FROM events WHERE team_id = $1 AND event = $2 ORDER BY timestamp DESC LIMIT 1',
    [teamId, event],
  )
  return rows[0] ?? null
}
