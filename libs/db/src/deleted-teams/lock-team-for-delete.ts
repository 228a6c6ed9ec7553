import type { PoolClient } from 'pg'
import type { Team } from '../teams'

/** What a team holds, as its delete names it; `events` stops counting at `eventsCap`. */
export interface TeamHoldings {
  team: Team
  config_ids: number[]
  tokens: number
  events: number
}

/**
 * Locks the team's row for the caller's transaction (FOR UPDATE: a config or token created meanwhile
 * waits on its foreign key check, so the counts stay exact until the delete), and counts what it
 * holds. Events have no foreign key and a big team has millions: they are counted up to `eventsCap`
 * through the (team_id, timestamp) index, never all. null: no such team.
 */
export async function lockTeamForDelete(client: PoolClient, teamId: number, eventsCap: number): Promise<TeamHoldings | null> {
  const { rows } = await client.query<Team>('SELECT * FROM teams WHERE id = $1 FOR UPDATE', [teamId])
  if (rows.length === 0) return null
  const configs = await client.query<{ id: number }>('SELECT id FROM plugin_configs WHERE team_id = $1 ORDER BY id', [teamId])
  const tokens = await client.query<{ n: string }>('SELECT count(*) AS n FROM team_admin_tokens WHERE team_id = $1', [teamId])
  const events = await client.query<{ n: string }>('SELECT count(*) AS n FROM (SELECT 1 FROM events WHERE team_id = $1 LIMIT $2) e', [teamId, eventsCap])
  return { team: rows[0], config_ids: configs.rows.map((r) => r.id), tokens: Number(tokens.rows[0].n), events: Number(events.rows[0].n) }
}

/** Its configs (and what cascades from them) and tokens go with it (ON DELETE CASCADE); migration 0014's trigger records it. */
export async function deleteTeamRow(client: PoolClient, teamId: number): Promise<boolean> {
  const { rowCount } = await client.query('DELETE FROM teams WHERE id = $1', [teamId])
  return (rowCount ?? 0) > 0
}
