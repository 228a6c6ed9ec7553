import type { PoolClient } from 'pg'

/**
 * Deletes the plugin with its versions, and with its configs and their attachments and storage
 * (ON DELETE CASCADE); log rows stay. Answers whether there was such a plugin.
 */
export async function deletePluginRow(client: PoolClient, pluginId: number): Promise<boolean> {
  const { rowCount } = await client.query('DELETE FROM plugins WHERE id = $1', [pluginId])
  return rowCount === 1
}
