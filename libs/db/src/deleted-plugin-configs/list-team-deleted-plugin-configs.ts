import type { Pool } from 'pg'

/** A deleted team's deleted configs no cleanup finished yet (the records are few: each is forgotten an hour after its delete). */
export async function listUncleanedTeamDeletedPluginConfigIds(pool: Pool, teamId: number): Promise<number[]> {
  const { rows } = await pool.query<{ id: number }>(
    'SELECT plugin_config_id AS id FROM deleted_plugin_configs WHERE team_id = $1 AND cleaned_at IS NULL ORDER BY plugin_config_id',
    [teamId],
  )
  return rows.map((r) => r.id)
}
