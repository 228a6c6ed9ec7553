import { findConfigRowForView } from './db-helpers'
import { PLUGIN_LOG_SOURCES, PLUGIN_LOG_TYPES, LogQuery, ManagementContext, ManagementError, PluginLogRow } from './interfaces'
import { scrubSecrets, secretValues } from './redact'

const DEFAULT_LIMIT = 100
const MAX_LIMIT = 1000

function upperAll(name: string, given: string[] | undefined, allowed: readonly string[]): string[] | null {
  if (!given || given.length === 0) return null
  const values = given
    .flatMap((v) => v.split(','))
    .map((v) => v.trim().toUpperCase())
    .filter((v) => v !== '')
  for (const value of values) {
    if (!allowed.includes(value)) {
      throw new ManagementError('validation_error', `${name} ${JSON.stringify(value)} is not one of ${allowed.map((a) => a.toLowerCase()).join(', ')}`, name)
    }
  }
  return values.length > 0 ? values : null
}

/**
 * Without `afterId` the latest `limit` rows; with it the rows after that id, oldest first, which
 * is how a follower pages through new rows. Returned oldest first either way.
 */
export async function readLogs(ctx: ManagementContext, configId: number, query: LogQuery = {}): Promise<PluginLogRow[]> {
  const row = await findConfigRowForView(ctx.pool, configId)
  const types = upperAll('level', query.levels, PLUGIN_LOG_TYPES)
  const sources = upperAll('source', query.sources, PLUGIN_LOG_SOURCES)
  const limit = query.limit ?? DEFAULT_LIMIT
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new ManagementError('validation_error', `limit must be an integer between 1 and ${MAX_LIMIT}`, 'limit')
  }
  if (query.afterId !== undefined && (!Number.isInteger(query.afterId) || query.afterId < 0)) {
    throw new ManagementError('validation_error', 'after must be a non-negative integer (a log row id)', 'after')
  }
  const search = query.search ? `%${query.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null
  const newest = query.afterId === undefined
  const { rows } = await ctx.pool.query<PluginLogRow>(
    `SELECT id::float8 AS id, team_id, plugin_id, plugin_config_id, timestamp, source, type, message, instance_id
     FROM plugin_log_entries
     WHERE plugin_config_id = $1 AND id > $2
       AND ($3::text[] IS NULL OR type = ANY($3)) AND ($4::text[] IS NULL OR source = ANY($4))
       AND ($5::text IS NULL OR message ILIKE $5)
     ORDER BY id ${newest ? 'DESC' : 'ASC'} LIMIT $6`,
    [configId, query.afterId ?? 0, types, sources, search, limit],
  )
  if (newest) rows.reverse()
  // Plugins print what they like, their own API key included.
  const secrets = secretValues(row.config_schema, row.config)
  return rows.map((r) => ({ ...r, message: scrubSecrets(r.message, secrets) }))
}
