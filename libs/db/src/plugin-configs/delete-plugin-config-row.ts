import type { Pool } from 'pg'

/** Attachments and storage go with it (ON DELETE CASCADE); log rows stay. Null when there was no such config. */
export async function deletePluginConfigRow(pool: Pool, id: number): Promise<{ team_id: number; plugin_id: number } | null> {
  const { rows } = await pool.query<{ team_id: number; plugin_id: number }>('DELETE FROM plugin_configs WHERE id = $1 RETURNING team_id, plugin_id', [id])
  return rows[0] ?? null
}
