import type { Pool, PoolClient } from 'pg'

/** The plugin's stored version numbers, oldest first. */
export async function listPluginVersionNumbers(db: Pool | PoolClient, pluginId: number): Promise<number[]> {
  const { rows } = await db.query<{ version: number }>('SELECT version FROM plugin_versions WHERE plugin_id = $1 ORDER BY version', [pluginId])
  return rows.map((r) => r.version)
}
