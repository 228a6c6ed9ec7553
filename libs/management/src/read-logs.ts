import { listAttachmentContents, readPluginLogs } from '@plugin-server/db'
import type { PluginConfigField } from '@plugin-server/plugin-vm'
import { attachmentSecrets, secretAttachmentKeys } from '@plugin-server/secrets'
import { findConfigRowForView } from './db-helpers'
import { PLUGIN_LOG_SOURCES, PLUGIN_LOG_TYPES, LogQuery, ManagementContext, ManagementError, PluginLogRow, PluginLogSource, PluginLogType } from './interfaces'
import { scrubSecrets, secretValues } from './redact'

const DEFAULT_LIMIT = 100
const MAX_LIMIT = 1000

function upperAll<T extends string>(name: string, given: string[] | undefined, allowed: readonly T[]): T[] | null {
  if (!given || given.length === 0) return null
  const values = given
    .flatMap((v) => v.split(','))
    .map((v) => v.trim().toUpperCase())
    .filter((v) => v !== '')
  for (const value of values) {
    if (!(allowed as readonly string[]).includes(value)) {
      throw new ManagementError('validation_error', `${name} ${JSON.stringify(value)} is not one of ${allowed.map((a) => a.toLowerCase()).join(', ')}`, name)
    }
  }
  return values.length > 0 ? (values as T[]) : null
}

/** Checks a query the way every reader (API, CLI, long-poll) needs it checked. */
export function checkLogQuery(query: LogQuery): void {
  upperAll('level', query.levels, PLUGIN_LOG_TYPES)
  upperAll('source', query.sources, PLUGIN_LOG_SOURCES)
  const limit = query.limit ?? DEFAULT_LIMIT
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new ManagementError('validation_error', `limit must be an integer between 1 and ${MAX_LIMIT}`, 'limit')
  }
  if (query.afterId !== undefined && (!Number.isInteger(query.afterId) || query.afterId < 0)) {
    throw new ManagementError('validation_error', 'after must be a non-negative integer (a log row id)', 'after')
  }
}

/**
 * One ordering for every page: oldest first (ascending id), so the last row is the newest and its
 * id is the follow cursor. Without `afterId` the newest `limit` rows; with it the first `limit`
 * rows strictly after that id.
 */
export async function readLogs(ctx: ManagementContext, configId: number, query: LogQuery = {}): Promise<PluginLogRow[]> {
  checkLogQuery(query)
  const row = await findConfigRowForView(ctx.pool, ctx.secrets, configId)
  const rows = await readPluginLogs(ctx.pool, configId, {
    types: upperAll<PluginLogType>('level', query.levels, PLUGIN_LOG_TYPES),
    sources: upperAll<PluginLogSource>('source', query.sources, PLUGIN_LOG_SOURCES),
    search: query.search ? query.search : null,
    afterId: query.afterId ?? null,
    limit: query.limit ?? DEFAULT_LIMIT,
  })
  if (rows.length === 0) return []
  // Plugins print what they like, their own API key (or key file) included.
  const secrets = [...secretValues(row.config_schema, row.config, row.sealed_keys), ...(await secretFileStrings(ctx, configId, row.config_schema))]
  return rows.map((r) => ({ ...r, message: scrubSecrets(r.message, secrets) }))
}

/** The strings of a config's secret attachments (attachmentSecrets): lines its plugin wrote before the workers scrubbed them show none. */
async function secretFileStrings(ctx: ManagementContext, configId: number, schema: readonly PluginConfigField[]): Promise<string[]> {
  const keys = secretAttachmentKeys(schema)
  if (keys.length === 0) return []
  const files = await listAttachmentContents(
    ctx.pool,
    keys.map((key) => ({ pluginConfigId: configId, key })),
  )
  return files.flatMap((file) => attachmentSecrets(file.contents))
}
