export const PLUGIN_LOG_TYPES = ['DEBUG', 'LOG', 'INFO', 'WARN', 'ERROR'] as const
export type PluginLogType = (typeof PLUGIN_LOG_TYPES)[number]
export const PLUGIN_LOG_SOURCES = ['SYSTEM', 'PLUGIN', 'CONSOLE'] as const
export type PluginLogSource = (typeof PLUGIN_LOG_SOURCES)[number]

/** A row to write to `plugin_log_entries`; the id is the table's. */
export interface NewPluginLogRow {
  team_id: number
  plugin_id: number
  plugin_config_id: number
  /** ISO time the line was logged (not when it was written). */
  timestamp: string
  source: PluginLogSource
  type: PluginLogType
  message: string
  instance_id: string
}

/** A stored row; `id` grows with every row written and is the follow cursor. */
export interface PluginLogRecord {
  id: number
  team_id: number
  plugin_id: number
  plugin_config_id: number
  timestamp: Date
  source: PluginLogSource
  type: PluginLogType
  message: string
  instance_id: string
}
