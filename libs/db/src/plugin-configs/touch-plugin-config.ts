import type { PoolClient } from 'pg'

/** Bumps updated_at, which is what workers compare to reload a config (an attachment changed, say). */
export async function touchPluginConfig(client: PoolClient, id: number): Promise<void> {
  await client.query('UPDATE plugin_configs SET updated_at = now() WHERE id = $1', [id])
}
