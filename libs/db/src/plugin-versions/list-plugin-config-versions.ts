import type { Pool, PoolClient } from 'pg'
import type { PluginConfigVersionRecord } from './plugin-version-record'

/** Every config of the plugin (enabled or not), with the version each runs; by team, then id. */
export async function listPluginConfigVersions(db: Pool | PoolClient, pluginId: number): Promise<PluginConfigVersionRecord[]> {
  const { rows } = await db.query<PluginConfigVersionRecord>(
    `SELECT c.id, c.team_id, c.enabled, c.pinned_version, COALESCE(c.pinned_version, p.version) AS runs_version
     FROM plugin_configs c JOIN plugins p ON p.id = c.plugin_id WHERE c.plugin_id = $1 ORDER BY c.team_id, c.id`,
    [pluginId],
  )
  return rows
}
