import type { Pool, PoolClient } from 'pg'
import type { PluginVersionRecord } from './plugin-version-record'

/** The stored version, or null when the plugin has no such version. */
export async function findPluginVersion(db: Pool | PoolClient, pluginId: number, version: number): Promise<PluginVersionRecord | null> {
  const { rows } = await db.query<PluginVersionRecord>(
    'SELECT plugin_id, version, content_hash, plugin_json, public_job_order, created_at FROM plugin_versions WHERE plugin_id = $1 AND version = $2',
    [pluginId, version],
  )
  return rows[0] ?? null
}
