import { findPluginRecord, listPluginRecords, POSTGRES_INT_MAX } from '@plugin-server/db'
import type { PluginConfigField } from '@plugin-server/plugin-vm'
import { Queryable } from './db-helpers'
import { ManagementContext, ManagementError, PluginSummary } from './interfaces'

/** One page in name order: the first `limit` plugins named after `afterName` ('' for the first page). */
export async function listPlugins(ctx: ManagementContext, afterName: string, limit: number): Promise<PluginSummary[]> {
  return listPluginRecords<PluginConfigField[]>(ctx.pool, afterName, limit)
}

/** Accepts the numeric id or the plugin.json name, which is what people remember. */
export async function findPluginSummary(db: Queryable, plugin: number | string): Promise<PluginSummary> {
  const byId = typeof plugin === 'number' || /^\d+$/.test(plugin)
  // Past Postgres' integer no plugin has the id; asked, Postgres would fail the query instead of finding none.
  const found =
    byId && !(Number(plugin) <= POSTGRES_INT_MAX)
      ? null
      : await findPluginRecord<PluginConfigField[]>(db, byId ? { id: Number(plugin) } : { name: String(plugin) })
  if (!found) throw new ManagementError('not_found', `plugin ${byId ? plugin : JSON.stringify(plugin)} not found`)
  return found
}
