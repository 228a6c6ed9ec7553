import type Redis from 'ioredis'
import type { Pool } from 'pg'
import type { Logger } from '@plugin-server/core'
import type { PluginRecord, TeamAdminTokenRecord } from '@plugin-server/db'
import type { PluginConfigField, PluginJson } from '@plugin-server/plugin-vm'
import type { SecretBox } from '@plugin-server/secrets'

/** Everything a management operation needs; the CLI and the admin API each build one. */
export interface ManagementContext {
  pool: Pool
  redis: Redis
  queuePrefix: string
  logger: Logger
  /**
   * Seals and opens secret config values: built once from the process's loaded config
   * (`plugins.secretsKeys`, PLUGIN_SECRETS_KEYS), never read from the environment here.
   */
  secrets: SecretBox
  /** Largest attachment accepted (PLUGIN_ATTACHMENT_MAX_BYTES; default 10 MiB). */
  attachmentMaxBytes?: number
}

export interface PluginVersionSummary {
  version: number
  content_hash: string
  created_at: Date
  /** The version configs without a pin run. */
  current: boolean
  /** How many configs run this version (pinned to it, or following the plugin while it is current); a team's own only when asked for one team (`getPlugin`'s `teamId`). */
  config_count: number
  /** This version's plugin.json `config`: what a config running it is checked against. */
  config_schema: PluginConfigField[]
}

/** A plugin row as libs/db reads it, with its schema typed. */
export type PluginSummary = PluginRecord<PluginConfigField[]>

export interface PluginDetail extends PluginSummary {
  plugin_json: PluginJson
  versions: PluginVersionSummary[]
}

export type InstallStatus = 'installed' | 'updated' | 'unchanged'

export interface InstallResult {
  status: InstallStatus
  message: string
  plugin: PluginSummary
}

/** The raw files of a plugin: path inside the plugin → contents. */
export type PluginFileMap = Map<string, Buffer>

export interface AttachmentInput {
  key: string
  file_name: string
  content_type: string
  contents: Buffer
}

/** An attachment as the API and CLI show it: never its contents. */
export interface AttachmentView {
  key: string
  file_name: string
  content_type: string
  size: number
}

export type SecretState = 'set' | 'not set'

/** What the API and CLI return for a plugin config: secret values are never part of it. */
export interface PluginConfigView {
  id: number
  team_id: number
  plugin_id: number
  plugin_name: string
  /** The version this config runs: `pinned_version`, or the plugin's current version when not pinned. */
  plugin_version: number
  /** null: the config follows the plugin's current version (a new install, a rollback). */
  pinned_version: number | null
  enabled: boolean
  order: number
  config: Record<string, string>
  secret_fields: Record<string, SecretState>
  attachments: AttachmentView[]
  error: unknown
  disabled_reason: string | null
  created_at: Date
  updated_at: Date
}

/** A value given for a config field; null or '' clears it. */
export type ConfigInputValue = string | number | boolean | null

export interface CreateConfigInput {
  teamId: number
  /** Plugin id, or its plugin.json name. */
  plugin: number | string
  config?: Record<string, ConfigInputValue>
  attachments?: AttachmentInput[]
  order?: number
  enabled?: boolean
  /** Run this stored version of the plugin, whatever is installed or rolled back later; absent or null: follow the current version. */
  pinnedVersion?: number | null
}

export interface UpdateConfigInput {
  /** Merged into the stored config: keys not given keep their value. */
  config?: Record<string, ConfigInputValue>
  attachments?: AttachmentInput[]
  order?: number
  enabled?: boolean
  /** A version number pins the config to it; null unpins (back to the current version); absent leaves the pin as it is. */
  pinnedVersion?: number | null
}

/** A config using a plugin, as `plugin delete` names them. */
export interface PluginConfigUse {
  id: number
  team_id: number
  enabled: boolean
  pinned_version: number | null
  runs_version: number
}

export interface SetCurrentVersionResult {
  status: 'changed' | 'unchanged'
  message: string
  plugin: PluginSummary
  previous_version: number
  /** Configs now running the new current version (those without a pin); pinned ones are left where they are. */
  following_configs: number
}

export interface DeletePluginResult {
  id: number
  name: string
  deleted: true
  /** Configs deleted with it (only with force). */
  deleted_configs: PluginConfigUse[]
}

// The log table's levels, sources and rows are libs/db's (the store's owner); management shows them as they are.
export { PLUGIN_LOG_SOURCES, PLUGIN_LOG_TYPES } from '@plugin-server/db'
export type { PluginLogSource, PluginLogType, PluginLogRecord as PluginLogRow } from '@plugin-server/db'

export interface LogQuery {
  /** Case-insensitive level names (`info`, `WARN`). */
  levels?: string[]
  sources?: string[]
  /** Only rows with a larger id, oldest first (how `--follow` pages); without it, the latest `limit` rows. */
  afterId?: number
  /** Substring of the message, case-insensitive. */
  search?: string
  limit?: number
}

export type ManagementErrorCode = 'validation_error' | 'invalid_plugin' | 'not_found' | 'conflict'

const STATUS: Record<ManagementErrorCode, number> = { validation_error: 400, invalid_plugin: 400, not_found: 404, conflict: 409 }

/** A refused operation; the message names the field, plugin or config and never holds a secret value. */
export class ManagementError extends Error {
  override name = 'ManagementError'
  readonly status: number

  constructor(
    readonly code: ManagementErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message)
    this.status = STATUS[code]
  }
}

/** A team admin token without its hash, as libs/db reads it: what the admin API may show. */
export type TeamAdminTokenView = TeamAdminTokenRecord

/** `plugin-server team usage`: what a team's plugins hold in the shared stores, and the limits. */
export interface TeamUsageView {
  team_id: number
  /** Cache keys, cursors and pending jobs (PLUGIN_TEAM_REDIS_LIMIT_MB); `keys_and_jobs`: how many the account holds. */
  redis: { bytes: number; limit_bytes: number; keys_and_jobs: number }
  /** `meta.storage` rows of the team's configs (PLUGIN_TEAM_STORAGE_LIMIT_MB). */
  storage: { bytes: number; limit_bytes: number }
  /** Live events of the team's export deliveries waiting in Redis, all its configs together (EXPORT_TEAM_MAX_PENDING_EVENTS). */
  exports: { pending_events: number; limit_events: number }
}

/** What creating a token returns: the only time the token itself is shown. */
export interface CreatedTeamAdminToken extends TeamAdminTokenView {
  token: string
}

/** Who a presented team token belongs to, or why it is refused. */
export type TeamAdminTokenLookup = { status: 'valid'; id: number; teamId: number } | { status: 'revoked' } | { status: 'unknown' }

/** What `team delete` deleted. */
export interface DeleteTeamResult {
  id: number
  name: string
  deleted: true
  /** The team's row was gone already (a delete that stopped halfway, or plain SQL): this run finished what it left. */
  already_deleted: boolean
  /** Its configs, deleted with it (their attachments, storage, dead letters and historical runs too). */
  deleted_configs: number[]
  /** Its team admin tokens. */
  deleted_tokens: number
  deleted_events: number
  deleted_log_rows: number
  /** What its configs' and its own Redis keys held, given back to the fleet's total (PLUGIN_REDIS_LIMIT_MB). */
  redis_bytes_freed: number
}
