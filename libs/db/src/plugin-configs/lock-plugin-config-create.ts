import type { PoolClient } from 'pg'

/**
 * Serializes concurrent creates for one team and plugin, until the transaction ends, so the
 * caller's "already has a config" check wins over a unique violation.
 */
export async function lockPluginConfigCreate(client: PoolClient, teamId: number, pluginId: number): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`config:${teamId}:${pluginId}`])
}
