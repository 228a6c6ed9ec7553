import type { PoolClient } from 'pg'

/** Versions are kept forever, so a config can stay pinned to one and an operator can roll back to it. */
export async function insertPluginVersion(
  client: PoolClient,
  v: { pluginId: number; version: number; contentHash: string; pluginJson: unknown; source: unknown; publicJobOrder: readonly string[] },
): Promise<void> {
  await client.query('INSERT INTO plugin_versions (plugin_id, version, content_hash, plugin_json, source, public_job_order) VALUES ($1, $2, $3, $4, $5, $6)', [
    v.pluginId,
    v.version,
    v.contentHash,
    v.pluginJson,
    v.source,
    v.publicJobOrder,
  ])
}
