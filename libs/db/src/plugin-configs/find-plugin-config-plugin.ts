import type { Pool } from 'pg'

/** A config's team, whether it is enabled, and its plugin's id and name; null when there is no such config. */
export interface PluginConfigPluginRecord {
  team_id: number
  enabled: boolean
  plugin_id: number
  name: string
}

export async function findPluginConfigPlugin(pool: Pool, configId: number): Promise<PluginConfigPluginRecord | null> {
  const { rows } = await pool.query<PluginConfigPluginRecord>(
    'SELECT c.team_id, c.enabled, c.plugin_id, p.name FROM plugin_configs c JOIN plugins p ON p.id = c.plugin_id WHERE c.id = $1',
    [configId],
  )
  return rows[0] ?? null
}
