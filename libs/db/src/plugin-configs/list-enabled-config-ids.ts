import type { Pool } from 'pg'

/** Of `ids`, those of configs that exist and are enabled. */
export async function listEnabledConfigIds(pool: Pool, ids: readonly number[]): Promise<number[]> {
  const { rows } = await pool.query<{ id: number }>('SELECT id FROM plugin_configs WHERE enabled AND id = ANY($1::int[])', [ids])
  return rows.map((r) => r.id)
}
