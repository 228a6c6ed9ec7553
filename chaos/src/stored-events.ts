import type { Pool } from 'pg'
import { eventKey } from './keys'

export interface StoredEvent {
  /** The fixture plugin's enrichment: the name of the config whose processEvent ran. */
  processedBy: unknown
  pluginsSucceeded: unknown
}

/** Every stored event, by team and uuid, with what the plugin chain left on it. */
export async function readStoredEvents(pool: Pool): Promise<Map<string, StoredEvent>> {
  const { rows } = await pool.query<{ team_id: number; uuid: string; processed_by: unknown; plugins_succeeded: unknown }>(
    `SELECT team_id, uuid, properties->'chaos_processed_by' AS processed_by, properties->'$plugins_succeeded' AS plugins_succeeded FROM events`,
  )
  return new Map(rows.map((r) => [eventKey(r.team_id, r.uuid), { processedBy: r.processed_by, pluginsSucceeded: r.plugins_succeeded }]))
}
