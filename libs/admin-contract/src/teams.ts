export type Me = { kind: 'operator' } | { kind: 'team'; team_id: number; team_name: string }

export interface Team {
  id: number
  name: string
  api_token: string
  created_at: string
  /** As PostHog's: capture keeps no client address for the team's events (no `ip`, no `$ip` property). */
  anonymize_ips: boolean
}

/** A team's own settings, which its team-scoped admins may change too. */
export interface TeamSettings {
  id: number
  name: string
  anonymize_ips: boolean
}

/** `PATCH /api/teams/:teamId`: the settings to change. */
export interface UpdateTeamInput {
  anonymize_ips?: boolean
}

/** What a team's plugins hold in the stores every team shares, and the limits (PLUGIN_TEAM_REDIS_LIMIT_MB, PLUGIN_TEAM_STORAGE_LIMIT_MB, EXPORT_TEAM_MAX_PENDING_EVENTS). */
export interface TeamUsage {
  team_id: number
  /** Cache keys, cursors and pending jobs; `keys_and_jobs`: how many the account holds. */
  redis: { bytes: number; limit_bytes: number; keys_and_jobs: number }
  /** `meta.storage` rows of the team's configs. */
  storage: { bytes: number; limit_bytes: number }
  /** Live events of the team's export deliveries waiting in Redis, all its configs together. */
  exports: { pending_events: number; limit_events: number }
}

export interface CreateTeamInput {
  name: string
  api_token?: string
  anonymize_ips?: boolean
}

/** What `DELETE /api/teams/:teamId` deleted. */
export interface DeleteTeamResult {
  id: number
  name: string
  deleted: true
  /** The team's row was gone already (a delete that stopped halfway, or plain SQL): this call finished what it left. */
  already_deleted: boolean
  /** Its configs, deleted with it. */
  deleted_configs: number[]
  deleted_tokens: number
  deleted_events: number
  deleted_log_rows: number
  /** What its configs' and its own Redis keys held, given back to the fleet's total. */
  redis_bytes_freed: number
}
