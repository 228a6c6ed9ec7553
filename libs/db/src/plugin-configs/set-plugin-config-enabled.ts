import type { PoolClient } from 'pg'

/** Enabling also clears the reason the lifecycle gave when it disabled the config. */
export async function setPluginConfigEnabled(client: PoolClient, id: number, enabled: boolean): Promise<void> {
  await client.query(
    `UPDATE plugin_configs SET enabled = $2, disabled_reason = CASE WHEN $2 THEN NULL ELSE disabled_reason END, updated_at = now() WHERE id = $1`,
    [id, enabled],
  )
}
