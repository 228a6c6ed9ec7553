import { Queryable } from './db-helpers'
import { ManagementContext, ManagementError, PluginSummary } from './interfaces'

export const PLUGIN_SUMMARY_COLUMNS = 'id, name, description, url, version, content_hash, config_schema, created_at, updated_at'

export async function listPlugins(ctx: ManagementContext): Promise<PluginSummary[]> {
  const { rows } = await ctx.pool.query<PluginSummary>(`SELECT ${PLUGIN_SUMMARY_COLUMNS} FROM plugins ORDER BY name`)
  return rows
}

/** Accepts the numeric id or the plugin.json name, which is what people remember. */
export async function findPluginSummary(db: Queryable, plugin: number | string): Promise<PluginSummary> {
  const byId = typeof plugin === 'number' || /^\d+$/.test(plugin)
  const { rows } = await db.query<PluginSummary>(`SELECT ${PLUGIN_SUMMARY_COLUMNS} FROM plugins WHERE ${byId ? 'id = $1' : 'name = $1'}`, [
    byId ? Number(plugin) : plugin,
  ])
  if (!rows[0]) throw new ManagementError('not_found', `plugin ${byId ? plugin : JSON.stringify(plugin)} not found`)
  return rows[0]
}
