import type { PoolClient } from 'pg'

/** Serializes order changes within a team, so two writers cannot both find a position free. */
export async function lockTeamOrder(client: PoolClient, teamId: number): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`config-order:${teamId}`])
}

/**
 * Gives `order` to one config without ever leaving two at the same position: when another config
 * of the team holds it, that one and every later one move down by one, so the chain keeps its
 * relative order and the new config runs exactly where it was asked to. `selfId` is the config
 * being moved (null for a new one). Call inside a transaction that holds lockTeamOrder.
 */
export async function makeRoomForOrder(client: PoolClient, teamId: number, order: number, selfId: number | null): Promise<void> {
  await client.query(
    `UPDATE plugin_configs SET "order" = "order" + 1, updated_at = now()
     WHERE team_id = $1 AND id IS DISTINCT FROM $2 AND "order" >= $3
       AND EXISTS (SELECT 1 FROM plugin_configs WHERE team_id = $1 AND id IS DISTINCT FROM $2 AND "order" = $3)`,
    [teamId, selfId, order],
  )
}
