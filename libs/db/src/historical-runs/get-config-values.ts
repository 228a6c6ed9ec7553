import type { Pool } from 'pg'

/** A plugin config's team and stored values (what its export options, e.g. exportEventsToIgnore, are read from). */
export async function getConfigValues(pool: Pool, configId: number): Promise<{ teamId: number; config: Record<string, unknown> } | null> {
  const { rows } = await pool.query<{ team_id: number; config: Record<string, unknown> }>('SELECT team_id, config FROM plugin_configs WHERE id = $1', [
    configId,
  ])
  return rows[0] ? { teamId: rows[0].team_id, config: rows[0].config } : null
}
