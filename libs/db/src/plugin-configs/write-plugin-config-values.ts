import type { PoolClient } from 'pg'

/** Replaces the stored values without touching updated_at, so workers do not reload. */
export async function writePluginConfigValues(client: PoolClient, id: number, config: Record<string, unknown>): Promise<void> {
  await client.query('UPDATE plugin_configs SET config = $2 WHERE id = $1', [id, config])
}
