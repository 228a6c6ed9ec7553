import type { PoolClient } from 'pg'

/**
 * Gives `order` to one config without ever leaving two at the same position: when another config
 * of the team holds it, that one and every later one move down by one, so the chain keeps its
 * relative order. `selfId` is the config being moved (null for a new one). Call inside a
 * transaction that holds lockTeamConfigOrder.
 */
export async function makeRoomForConfigOrder(client: PoolClient, teamId: number, order: number, selfId: number | null): Promise<void> {
  await client.query(
    `UPDATE plugin_configs SET "order" = "order" + 1, updated_at = now()
     WHERE team_id = $1 AND id IS DISTINCT FROM $2 AND "order" >= $3
       AND EXISTS (SELECT 1 FROM plugin_configs WHERE team_id = $1 AND id IS DISTINCT FROM $2 AND "order" = $3)`,
    [teamId, selfId, order],
  )
}
