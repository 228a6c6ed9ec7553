export interface AttachmentView {
  key: string
  file_name: string
  content_type: string
  size: number
}

export type SecretState = 'set' | 'not set'

export interface PluginConfigView {
  id: number
  team_id: number
  plugin_id: number
  plugin_name: string
  /** The version it runs: `pinned_version`, or the plugin's current version. */
  plugin_version: number
  pinned_version: number | null
  enabled: boolean
  order: number
  /** Without secret fields: those are only in `secret_fields`, as set or not. */
  config: Record<string, string>
  secret_fields: Record<string, SecretState>
  attachments: AttachmentView[]
  error: unknown
  disabled_reason: string | null
  created_at: string
  updated_at: string
}

/** What deleting a config answers; its attachments and storage went with it. */
export interface DeleteConfigResult {
  id: number
  deleted: true
}

export interface NewAttachment {
  file_name: string
  content_type: string
  contents_base64: string
}

export interface CreateConfigInput {
  /** The plugin id, or its plugin.json name. */
  plugin_id: number | string
  config?: Record<string, string>
  attachments?: Record<string, NewAttachment>
  order?: number
  enabled?: boolean
  pinned_version?: number | null
}

export interface UpdateConfigInput {
  /** Merged into the stored values; `""`/`null` clears a field, a secret field left out keeps its value. */
  config?: Record<string, string | null>
  attachments?: Record<string, NewAttachment>
  order?: number
  enabled?: boolean
  /** A version pins, null unpins, absent leaves the pin. */
  pinned_version?: number | null
}

export interface ReorderConfigsInput {
  /** Every config of the team exactly once, first runs first. */
  ids: number[]
}
