export type ConfigFieldType = 'string' | 'json' | 'attachment' | 'choice'

/** One entry of plugin.json `config`: a field (with `key`) or a text block (only `markdown`). */
export interface ConfigField {
  markdown?: string
  key?: string
  name?: string
  type?: ConfigFieldType
  default?: string
  hint?: string
  required?: boolean
  secret?: boolean
  choices?: string[]
}

export interface PayloadFieldSpec {
  type?: string
  title?: string
  required?: boolean
}

export interface PublicJobSpec {
  payload?: Record<string, PayloadFieldSpec>
}

export interface PluginJson {
  name: string
  description?: string
  url?: string
  config?: ConfigField[]
  publicJobs?: Record<string, PublicJobSpec>
  [key: string]: unknown
}

export interface PluginSummary {
  id: number
  name: string
  description: string
  url: string | null
  version: number
  content_hash: string
  config_schema: ConfigField[]
  created_at: string
  updated_at: string
}

export interface PluginVersion {
  version: number
  content_hash: string
  created_at: string
  /** The version configs without a pin run. */
  current: boolean
  /**
   * Configs running it (pinned to it, or following the plugin while it is current): every team's for
   * the operator, only its own team's for a team token.
   */
  config_count: number
  config_schema: ConfigField[]
}

export interface PluginDetail extends PluginSummary {
  plugin_json: PluginJson
  versions: PluginVersion[]
}

export interface InstallResult {
  status: 'installed' | 'updated' | 'unchanged'
  message: string
  plugin: PluginSummary
}

export interface SetCurrentVersionInput {
  version: number
}

export interface SetCurrentVersionResult {
  status: 'changed' | 'unchanged'
  message: string
  plugin: PluginSummary
  previous_version: number
  following_configs: number
}

export interface DeletedConfig {
  id: number
  team_id: number
  enabled: boolean
  pinned_version: number | null
  runs_version: number
}

export interface DeletePluginResult {
  id: number
  name: string
  deleted: true
  deleted_configs: DeletedConfig[]
}
