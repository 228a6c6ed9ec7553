import type { Queryable } from '../queryable'

/** Every team with a plugin config, and what its configs keep in `meta.storage` together (plugin_storage_usage). */
export async function readTeamsStorageBytes(db: Queryable): Promise<{ teamId: number; bytes: number }[]> {
  const { rows } = await db.query<{ team_id: number; bytes: string }>(
    `SELECT c.team_id, coalesce(sum(u.bytes), 0) AS bytes FROM plugin_configs c LEFT JOIN plugin_storage_usage u ON u.plugin_config_id = c.id GROUP BY c.team_id`,
  )
  return rows.map((r) => ({ teamId: r.team_id, bytes: Number(r.bytes) }))
}
