import type { Pool } from 'pg'

/** A plugin config's team, stored values (what its export options, e.g. exportEventsToIgnore, are read from) and whether it is enabled (a historical run stops once it is not). */
export async function getConfigValues(pool: Pool, configId: number): Promise<{ teamId: number; config: Record<string, unknown>; enabled: boolean } | null> {
  const { rows } = await pool.query<{ team_id: number; config: Record<string, unknown>; enabled: boolean }>(
    'SELECT team_id, config, enabled FROM plugin_configs WHERE id = $1',
    [configId],
  )
  return rows[0] ? { teamId: rows[0].team_id, config: rows[0].config, enabled: rows[0].enabled } : null
}
