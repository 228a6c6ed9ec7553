import type { Queryable } from '../queryable'
import type { DeletedTeamRecord } from './deleted-team-record'

/**
 * In id order after `afterId`, at most `limit`; only `ids` when given, else only those due: not
 * cleaned yet, or deleted at least `graceMs` ago (their last cleanup).
 */
export async function listDeletedTeams(
  db: Queryable,
  options: { afterId: number; limit: number; ids: readonly number[] | null; graceMs: number },
): Promise<DeletedTeamRecord[]> {
  const { rows } = await db.query<DeletedTeamRecord>(
    `SELECT team_id, name, deleted_at, cleaned_at FROM deleted_teams
     WHERE team_id > $1
       AND CASE WHEN $3::int[] IS NULL THEN cleaned_at IS NULL OR deleted_at <= now() - $4 * interval '1 millisecond'
           ELSE team_id = ANY($3::int[]) END
     ORDER BY team_id LIMIT $2`,
    [options.afterId, options.limit, options.ids, options.graceMs],
  )
  return rows
}
