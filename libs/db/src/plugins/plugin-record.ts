/** A plugin row without its source and plugin.json. `Schema` is the plugin.json `config` array, typed by the caller. */
export interface PluginRecord<Schema = unknown> {
  id: number
  name: string
  description: string
  url: string | null
  version: number
  content_hash: string
  config_schema: Schema
  created_at: Date
  updated_at: Date
}

export const PLUGIN_RECORD_COLUMNS = 'id, name, description, url, version, content_hash, config_schema, created_at, updated_at'
