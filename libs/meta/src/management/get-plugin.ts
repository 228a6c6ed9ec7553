import { ManagementContext, PluginDetail, PluginSummary, PluginVersionSummary } from './interfaces'
import { findPluginSummary } from './list-plugins'
import type { PluginJson } from '@plugin-server/plugin-vm'

/** plugin.json and the version history; sources stay in the database. */
export async function getPlugin(ctx: ManagementContext, plugin: number | string): Promise<PluginDetail> {
  const summary: PluginSummary = await findPluginSummary(ctx.pool, plugin)
  const { rows: json } = await ctx.pool.query<{ plugin_json: PluginJson }>('SELECT plugin_json FROM plugins WHERE id = $1', [summary.id])
  const { rows: versions } = await ctx.pool.query<PluginVersionSummary>(
    'SELECT version, content_hash, created_at FROM plugin_versions WHERE plugin_id = $1 ORDER BY version DESC',
    [summary.id],
  )
  return { ...summary, plugin_json: json[0].plugin_json, versions }
}
