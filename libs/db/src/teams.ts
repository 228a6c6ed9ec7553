import { randomBytes } from 'node:crypto'
import type { Pool } from 'pg'
import type { Queryable } from './queryable'

export interface Team {
  id: number
  name: string
  api_token: string
  created_at: Date
  /** As PostHog's: capture keeps no client address for the team's events (no `ip`, no `$ip`). */
  anonymize_ips: boolean
}

export async function createTeam(
  pool: Pool,
  name: string,
  apiToken: string = `phc_${randomBytes(24).toString('base64url')}`,
  options: { anonymizeIps?: boolean } = {},
): Promise<Team> {
  if (!name.trim()) throw new Error('team name must not be empty')
  const { rows } = await pool.query<Team>('INSERT INTO teams (name, api_token, anonymize_ips) VALUES ($1, $2, $3) RETURNING *', [
    name,
    apiToken,
    options.anonymizeIps === true,
  ])
  return rows[0]
}

/** The team after the change; null: no such team. */
export async function setTeamAnonymizeIps(db: Queryable, id: number, anonymizeIps: boolean): Promise<Team | null> {
  const { rows } = await db.query<Team>('UPDATE teams SET anonymize_ips = $2 WHERE id = $1 RETURNING *', [id, anonymizeIps])
  return rows[0] ?? null
}

export async function findTeamByToken(pool: Pool, apiToken: string): Promise<Team | null> {
  const { rows } = await pool.query<Team>('SELECT * FROM teams WHERE api_token = $1', [apiToken])
  return rows[0] ?? null
}

/**
 * One page of teams in id order: the first `limit` with an id above `afterId` (0 for the first
 * page). A keyset page walks the primary key's index, so a late page costs what the first does.
 */
export async function listTeams(db: Queryable, afterId: number, limit: number): Promise<Team[]> {
  const { rows } = await db.query<Team>('SELECT * FROM teams WHERE id > $1 ORDER BY id LIMIT $2', [afterId, limit])
  return rows
}

export async function findTeamById(db: Queryable, id: number): Promise<Team | null> {
  const { rows } = await db.query<Team>('SELECT * FROM teams WHERE id = $1', [id])
  return rows[0] ?? null
}
