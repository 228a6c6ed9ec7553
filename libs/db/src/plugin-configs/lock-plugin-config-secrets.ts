import type { PoolClient } from 'pg'
import { PluginConfigSecretsRecord } from './plugin-config-secrets-record'

/** Locks the config row until the transaction ends; a pinned config gets its version's fields, not the current one's. */
export async function lockPluginConfigSecrets<Schema = unknown>(client: PoolClient, id: number): Promise<PluginConfigSecretsRecord<Schema> | null> {
  const { rows } = await client.query<PluginConfigSecretsRecord<Schema>>(
    `SELECT c.team_id, c.plugin_id, c.config, COALESCE(v.plugin_json->'config', p.config_schema) AS config_schema
     FROM plugin_configs c JOIN plugins p ON p.id = c.plugin_id LEFT JOIN plugin_versions v ON v.plugin_id = c.plugin_id AND v.version = c.pinned_version
     WHERE c.id = $1 FOR UPDATE OF c`,
    [id],
  )
  return rows[0] ?? null
}
