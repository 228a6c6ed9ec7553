import type { Pool } from 'pg'

export async function listPluginConfigIds(pool: Pool): Promise<number[]> {
  const { rows } = await pool.query<{ id: number }>('SELECT id FROM plugin_configs ORDER BY id')
  return rows.map((r) => r.id)
}
