/** A config deleted from plugin_configs whose Redis state may still be there (migration 0012). */
export interface DeletedPluginConfigRecord {
  plugin_config_id: number
  team_id: number
  plugin_id: number
  deleted_at: Date
  /** When a cleanup of it first finished; null until then. */
  cleaned_at: Date | null
}
