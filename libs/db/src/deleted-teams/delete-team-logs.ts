import type { Pool } from 'pg'
import { deletePluginLogsWhere } from '../plugin-logs/delete-plugin-logs-where'

/**
 * Deletes a deleted team's plugin log rows (kept for reading after a config's delete, so without a
 * foreign key): those of every config whose rows are the team's, configs deleted long before the
 * team included, `batch` rows per statement. Answers how many rows went.
 */
export function deleteTeamLogs(pool: Pool, teamId: number, batch = 10_000): Promise<number> {
  return deletePluginLogsWhere(pool, 'team_id = $2', teamId, batch, teamId)
}
