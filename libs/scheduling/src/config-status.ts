import type { LogTarget } from '@plugin-server/plugin-runtime'
import { findPluginConfigPlugin, listEnabledConfigIds } from '@plugin-server/db'
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
  const row = await findPluginConfigPlugin(pool, pluginConfigId)
  if (!row) return null
  return { enabled: row.enabled, target: { teamId: row.team_id, pluginId: row.plugin_id, pluginConfigId, pluginName: row.name, secrets: [] } }
}

/** Of `ids`, those still enabled in Postgres (a chain is only removed when Postgres agrees). */
export async function enabledConfigIds(pool: Pool, ids: readonly number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set()
  return new Set(await listEnabledConfigIds(pool, ids))
}
