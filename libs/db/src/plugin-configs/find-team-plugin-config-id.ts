import type { PoolClient } from 'pg'

/** The team's config of a plugin (there is at most one), or null. */
export async function findTeamPluginConfigId(client: PoolClient, teamId: number, pluginId: number): Promise<number | null> {
  const { rows } = await client.query<{ id: number }>('SELECT id FROM plugin_configs WHERE team_id = $1 AND plugin_id = $2', [teamId, pluginId])
  return rows[0]?.id ?? null
}
