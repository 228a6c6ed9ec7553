import type { PoolClient } from 'pg'

/** Config `ids[i]` gets order i + 1; configs already at their position are not written. */
export async function setPluginConfigOrder(client: PoolClient, ids: readonly number[]): Promise<void> {
  await client.query(
    `UPDATE plugin_configs c SET "order" = o.position, updated_at = now()
     FROM unnest($1::int[]) WITH ORDINALITY AS o(id, position)
     WHERE c.id = o.id AND c."order" IS DISTINCT FROM o.position`,
    [ids],
  )
}
