import type { PoolClient } from 'pg'

/**
 * The number a new install gets: after the highest stored version, not after the current one,
 * which a rollback may have made lower. Call it under the plugin's install lock.
 */
export async function nextPluginVersion(client: PoolClient, pluginId: number): Promise<number> {
  const { rows } = await client.query<{ next: number }>(
    `SELECT GREATEST((SELECT version FROM plugins WHERE id = $1), (SELECT COALESCE(MAX(version), 0) FROM plugin_versions WHERE plugin_id = $1)) + 1 AS next`,
    [pluginId],
  )
  return rows[0].next
}
