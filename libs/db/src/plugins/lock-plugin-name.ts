import type { PoolClient } from 'pg'

/**
 * The install lock, held until the transaction ends: installs, rollbacks and deletes of one plugin
 * name take turns, and two installs of the same new plugin cannot both miss its row.
 */
export async function lockPluginName(client: PoolClient, name: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`plugin:${name}`])
}
