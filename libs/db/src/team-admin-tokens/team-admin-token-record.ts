/** A team admin token as stored, without its hash: what the admin API may show. */
export interface TeamAdminTokenRecord {
  id: number
  team_id: number
  name: string
  created_at: Date
  last_used_at: Date | null
  revoked_at: Date | null
}

export const TEAM_ADMIN_TOKEN_COLUMNS = 'id, team_id, name, created_at, last_used_at, revoked_at'
