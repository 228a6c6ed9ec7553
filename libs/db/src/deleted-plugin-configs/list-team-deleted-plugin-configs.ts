import type { Pool } from 'pg'

/**
 * A deleted team's deleted configs still recorded (the records are few: each is forgotten an hour
 * after its delete); `uncleanedOnly`: those no cleanup finished yet.
 */
export async function listTeamDeletedPluginConfigIds(pool: Pool, teamId: number, uncleanedOnly = true): Promise<number[]> {
  const { rows } = await pool.query<{ id: number }>(
    'SELECT plugin_config_id AS id FROM deleted_plugin_configs WHERE team_id = $1 AND (cleaned_at IS NULL OR NOT $2) ORDER BY plugin_config_id',
    [teamId, uncleanedOnly],
  )
  return rows.map((r) => r.id)
}
