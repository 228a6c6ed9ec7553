export type Me = { kind: 'operator' } | { kind: 'team'; team_id: number; team_name: string }

export interface Team {
  id: number
  name: string
  api_token: string
  created_at: string
}

/** What a team's plugins hold in the stores every team shares, in bytes, and the limits (PLUGIN_TEAM_REDIS_LIMIT_MB, PLUGIN_TEAM_STORAGE_LIMIT_MB). */
export interface TeamUsage {
  team_id: number
  /** Cache keys, cursors and pending jobs; `keys_and_jobs`: how many the account holds. */
  redis: { bytes: number; limit_bytes: number; keys_and_jobs: number }
  /** `meta.storage` rows of the team's configs. */
  storage: { bytes: number; limit_bytes: number }
}

export interface CreateTeamInput {
  name: string
  api_token?: string
}
