/**
 * A config joined with its plugin, as management shows and validates it. A pinned config carries
 * its version's schema and number, not the current one's. `Schema` is the plugin.json `config`
 * array, typed by the caller that knows its shape (libs/db does not depend on plugin-vm).
 */
export interface PluginConfigDetailRecord<Schema = unknown> {
  id: number
  team_id: number
  plugin_id: number
  plugin_name: string
  config_schema: Schema
  pinned_version: number | null
  plugin_version: number
  enabled: boolean
  order: number
  config: Record<string, string>
  error: unknown
  disabled_reason: string | null
  created_at: Date
  updated_at: Date
}

export const PLUGIN_CONFIG_DETAIL_SELECT = `
SELECT c.id, c.team_id, c.plugin_id, p.name AS plugin_name, COALESCE(v.plugin_json->'config', p.config_schema) AS config_schema,
       c.pinned_version, COALESCE(v.version, p.version) AS plugin_version, c.enabled, c."order", c.config,
       c.error, c.disabled_reason, c.created_at, c.updated_at
FROM plugin_configs c JOIN plugins p ON p.id = c.plugin_id
LEFT JOIN plugin_versions v ON v.plugin_id = c.plugin_id AND v.version = c.pinned_version`
