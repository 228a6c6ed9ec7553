import type { Pool, PoolClient } from 'pg'
import type { PluginConfigVersionRecord } from './plugin-version-record'

/**
 * Every config of the plugin (enabled or not), with the version each runs; by team, then id. With
 * `teamId`, only that team's: what a team may be told about a plugin every team shares.
 */
export async function listPluginConfigVersions(db: Pool | PoolClient, pluginId: number, teamId: number | null = null): Promise<PluginConfigVersionRecord[]> {
  const { rows } = await db.query<PluginConfigVersionRecord>(
    `SELECT c.id, c.team_id, c.enabled, c.pinned_version, COALESCE(c.pinned_version, p.version) AS runs_version
     FROM plugin_configs c JOIN plugins p ON p.id = c.plugin_id
     WHERE c.plugin_id = $1 AND ($2::int IS NULL OR c.team_id = $2) ORDER BY c.team_id, c.id`,
    [pluginId, teamId],
  )
  return rows
}
