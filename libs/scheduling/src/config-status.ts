import type { LogTarget } from '@plugin-server/meta'
import type { Pool } from 'pg'

export interface ConfigStatus {
  enabled: boolean
  target: LogTarget
}

/**
 * Postgres, not this process's view of the configs: a replica that missed a reload message must
 * still never run a task or job of a config that was disabled or deleted. Null when deleted.
 */
export async function readConfigStatus(pool: Pool, pluginConfigId: number): Promise<ConfigStatus | null> {
  const { rows } = await pool.query<{ enabled: boolean; team_id: number; plugin_id: number; name: string }>(
    'SELECT c.enabled, c.team_id, c.plugin_id, p.name FROM plugin_configs c JOIN plugins p ON p.id = c.plugin_id WHERE c.id = $1',
    [pluginConfigId],
  )
  if (rows.length === 0) return null
  const row = rows[0]
  return { enabled: row.enabled, target: { teamId: row.team_id, pluginId: row.plugin_id, pluginConfigId, pluginName: row.name, secrets: [] } }
}

/** Of `ids`, those still enabled in Postgres (a chain is only removed when Postgres agrees). */
export async function enabledConfigIds(pool: Pool, ids: readonly number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set()
  const { rows } = await pool.query<{ id: number }>('SELECT id FROM plugin_configs WHERE enabled AND id = ANY($1::int[])', [ids])
  return new Set(rows.map((r) => r.id))
}
