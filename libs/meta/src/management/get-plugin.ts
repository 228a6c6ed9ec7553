import { ManagementContext, PluginDetail, PluginSummary, PluginVersionSummary } from './interfaces'
import { findPluginSummary } from './list-plugins'
import { listPluginConfigVersions } from '@plugin-server/db'
import type { PluginJson } from '@plugin-server/plugin-vm'

/**
 * plugin.json and the version history, each version with how many configs run it; sources stay in
 * the database. Counts only: the plugin is visible to every team, the configs of others are not.
 */
export async function getPlugin(ctx: ManagementContext, plugin: number | string): Promise<PluginDetail> {
  const summary: PluginSummary = await findPluginSummary(ctx.pool, plugin)
  const { rows: json } = await ctx.pool.query<{ plugin_json: PluginJson }>('SELECT plugin_json FROM plugins WHERE id = $1', [summary.id])
  const { rows: versions } = await ctx.pool.query<Omit<PluginVersionSummary, 'current' | 'config_count'>>(
    // Each version's fields: a config pinned to it is edited against them.
    `SELECT version, content_hash, created_at, COALESCE(plugin_json->'config', '[]'::jsonb) AS config_schema FROM plugin_versions WHERE plugin_id = $1 ORDER BY version DESC`,
    [summary.id],
  )
  const running = new Map<number, number>()
  for (const config of await listPluginConfigVersions(ctx.pool, summary.id)) running.set(config.runs_version, (running.get(config.runs_version) ?? 0) + 1)
  return {
    ...summary,
    plugin_json: json[0].plugin_json,
    versions: versions.map((v) => ({ ...v, current: v.version === summary.version, config_count: running.get(v.version) ?? 0 })),
  }
}
