import type { Pool } from 'pg'
import { PluginLogRecord, PluginLogSource, PluginLogType } from './plugin-log-row'

export interface PluginLogFilter {
  /** null: every type. */
  types: PluginLogType[] | null
  sources: PluginLogSource[] | null
  /** A literal substring of the message, case-insensitive; null: no search. */
  search: string | null
  /** Only rows with a larger id; null: the latest `limit` rows. */
  afterId: number | null
  limit: number
}

/**
 * A config's log rows, always oldest first (ascending id), so every page reads top to bottom and
 * its last row is the follow cursor. Without `afterId`: the newest `limit` rows; with it: the
 * first `limit` rows after that id.
 */
export async function readPluginLogs(pool: Pool, configId: number, filter: PluginLogFilter): Promise<PluginLogRecord[]> {
  const pattern = filter.search === null ? null : `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
  const newest = filter.afterId === null
  const { rows } = await pool.query<PluginLogRecord>(
    `SELECT id::float8 AS id, team_id, plugin_id, plugin_config_id, timestamp, source, type, message, instance_id
     FROM plugin_log_entries
     WHERE plugin_config_id = $1 AND id > $2
       AND ($3::text[] IS NULL OR type = ANY($3)) AND ($4::text[] IS NULL OR source = ANY($4))
       AND ($5::text IS NULL OR message ILIKE $5)
     ORDER BY id ${newest ? 'DESC' : 'ASC'} LIMIT $6`,
    [configId, filter.afterId ?? 0, filter.types, filter.sources, pattern, filter.limit],
  )
  return newest ? rows.reverse() : rows
}
