export type Me = { kind: 'operator' } | { kind: 'team'; team_id: number; team_name: string }

export interface Team {
  id: number
  name: string
  api_token: string
  created_at: string
}

export interface CreateTeamInput {
  name: string
  api_token?: string
}
