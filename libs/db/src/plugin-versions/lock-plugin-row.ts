import type { PoolClient } from 'pg'

/**
 * Locks the plugin row until the transaction ends. A config insert references the row (and so
 * takes a key-share lock on it), so no config can be added to the plugin meanwhile, and one being
 * added is committed before this returns.
 */
export async function lockPluginRow(client: PoolClient, pluginId: number): Promise<boolean> {
  const { rowCount } = await client.query('SELECT 1 FROM plugins WHERE id = $1 FOR UPDATE', [pluginId])
  return rowCount === 1
}
