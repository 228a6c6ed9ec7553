import type { PoolClient } from 'pg'

export interface PluginConfigInsert {
  teamId: number
  pluginId: number
  enabled: boolean
  /** null: after the team's last config. */
  order: number | null
  config: Record<string, unknown>
  pinnedVersion: number | null
}

/** Returns the new config's id. */
export async function insertPluginConfig(client: PoolClient, c: PluginConfigInsert): Promise<number> {
  const { rows } = await client.query<{ id: number }>(
    `INSERT INTO plugin_configs (team_id, plugin_id, enabled, "order", config, pinned_version)
     VALUES ($1, $2, $3, COALESCE($4, (SELECT COALESCE(MAX("order"), 0) + 1 FROM plugin_configs WHERE team_id = $1)), $5, $6) RETURNING id`,
    [c.teamId, c.pluginId, c.enabled, c.order, c.config, c.pinnedVersion],
  )
  return rows[0].id
}
