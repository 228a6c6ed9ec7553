import type { PoolClient } from 'pg'

export interface PluginConfigRowUpdate {
  /** The whole stored config (secrets sealed), replacing the old one. */
  config: Record<string, unknown>
  /** null keeps the current value. */
  order: number | null
  enabled: boolean | null
  /** Absent keeps the pin; `{ version: null }` unpins. */
  pin?: { version: number | null }
}

/** Enabling clears the lifecycle's disabled_reason, as setPluginConfigEnabled does. */
export async function updatePluginConfigRow(client: PoolClient, id: number, u: PluginConfigRowUpdate): Promise<void> {
  await client.query(
    `UPDATE plugin_configs SET config = $2, "order" = COALESCE($3, "order"), enabled = COALESCE($4, enabled),
       disabled_reason = CASE WHEN $4 THEN NULL ELSE disabled_reason END,
       pinned_version = CASE WHEN $5 THEN $6::int ELSE pinned_version END, updated_at = now()
     WHERE id = $1`,
    [id, u.config, u.order, u.enabled, u.pin !== undefined, u.pin?.version ?? null],
  )
}
