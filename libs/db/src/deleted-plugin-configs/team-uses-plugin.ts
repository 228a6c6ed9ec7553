import type { Pool } from 'pg'

/** Whether the team has a config of the plugin (at most one: plugin_configs_team_plugin), which its cache keys then belong to. */
export async function teamUsesPlugin(pool: Pool, teamId: number, pluginId: number): Promise<boolean> {
  const { rowCount } = await pool.query('SELECT 1 FROM plugin_configs WHERE team_id = $1 AND plugin_id = $2', [teamId, pluginId])
  return (rowCount ?? 0) > 0
}
