/** One stored version of a plugin, without its files. */
export interface PluginVersionRecord {
  plugin_id: number
  version: number
  content_hash: string
  /** The version's plugin.json; its `config` is the schema configs running it are checked against. */
  plugin_json: { name: string; config: unknown[] } & Record<string, unknown>
  /**
   * The names of plugin.json `publicJobs` as the plugin declares them (jsonb does not keep an
   * object's key order); null for a version installed before migration 0015.
   */
  public_job_order: string[] | null
  created_at: Date
}

/** A config and the version it runs: its pin, or the plugin's current version. */
export interface PluginConfigVersionRecord {
  id: number
  team_id: number
  enabled: boolean
  pinned_version: number | null
  runs_version: number
}
