import type { Queryable } from '../queryable'

/** What a team's configs keep in `meta.storage` together, as PLUGIN_TEAM_STORAGE_LIMIT_MB counts it (plugin_storage_usage). */
export async function readTeamStorageBytes(db: Queryable, teamId: number): Promise<number> {
  const { rows } = await db.query<{ bytes: string }>(
    `SELECT coalesce(sum(u.bytes), 0) AS bytes FROM plugin_storage_usage u JOIN plugin_configs c ON c.id = u.plugin_config_id WHERE c.team_id = $1`,
    [teamId],
  )
  return Number(rows[0].bytes)
}
