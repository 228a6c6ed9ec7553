import type { Pool } from 'pg'

/** Of `ids`, those of configs that exist (enabled or not). */
export async function listExistingConfigIds(pool: Pool, ids: readonly number[]): Promise<number[]> {
  if (ids.length === 0) return []
  const { rows } = await pool.query<{ id: number }>('SELECT id FROM plugin_configs WHERE id = ANY($1::int[])', [ids])
  return rows.map((r) => r.id)
}
