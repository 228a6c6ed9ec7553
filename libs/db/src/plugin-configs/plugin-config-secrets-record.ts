/** What re-encrypting a config's secrets needs: its stored values and the fields of the version it runs. */
export interface PluginConfigSecretsRecord<Schema = unknown> {
  team_id: number
  plugin_id: number
  config: Record<string, unknown>
  config_schema: Schema
}
