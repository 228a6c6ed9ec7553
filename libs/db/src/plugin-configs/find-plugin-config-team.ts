import type { Queryable } from '../queryable'

/** The team owning a config, without locking it; null when there is no such config. */
export async function findPluginConfigTeam(db: Queryable, configId: number): Promise<number | null> {
  const { rows } = await db.query<{ team_id: number }>('SELECT team_id FROM plugin_configs WHERE id = $1', [configId])
  return rows[0]?.team_id ?? null
}
