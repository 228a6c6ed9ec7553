import type { PoolClient } from 'pg'

/** A team's config ids, rows locked until the transaction ends. */
export async function lockTeamPluginConfigIds(client: PoolClient, teamId: number): Promise<number[]> {
  const { rows } = await client.query<{ id: number }>('SELECT id FROM plugin_configs WHERE team_id = $1 ORDER BY id FOR UPDATE', [teamId])
  return rows.map((r) => r.id)
}
