import type { PoolClient } from 'pg'

/** Serializes order changes within a team, so two writers cannot both find a position free. */
export async function lockTeamConfigOrder(client: PoolClient, teamId: number): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`config-order:${teamId}`])
}
