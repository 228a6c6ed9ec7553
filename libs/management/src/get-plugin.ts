import { ManagementContext, ManagementError, PluginDetail, PluginSummary } from './interfaces'
import { findPluginSummary } from './list-plugins'
import { listPluginConfigVersions, listPluginVersionSummaries, readPluginJson } from '@plugin-server/db'
import type { PluginConfigField, PluginJson } from '@plugin-server/plugin-vm'

export interface GetPluginOptions {
  /**
   * Count only this team's configs (a team token's view): the plugin is shared by every team, but
   * how many configs other teams run on a version is theirs. Absent: every team's (the operator).
   */
  teamId?: number
}

/**
 * plugin.json and the version history, each version with how many configs run it; sources stay in
 * the database. Counts only, never which configs.
 */
export async function getPlugin(ctx: ManagementContext, plugin: number | string, options: GetPluginOptions = {}): Promise<PluginDetail> {
  const summary: PluginSummary = await findPluginSummary(ctx.pool, plugin)
  const pluginJson = await readPluginJson<PluginJson>(ctx.pool, summary.id)
  // Deleted between the two reads.
  if (pluginJson === null) throw new ManagementError('not_found', `plugin ${summary.id} not found`)
  const versions = await listPluginVersionSummaries<PluginConfigField[]>(ctx.pool, summary.id)
  const running = new Map<number, number>()
  for (const config of await listPluginConfigVersions(ctx.pool, summary.id, options.teamId ?? null))
    running.set(config.runs_version, (running.get(config.runs_version) ?? 0) + 1)
  return {
    ...summary,
    plugin_json: pluginJson,
    versions: versions.map((v) => ({ ...v, current: v.version === summary.version, config_count: running.get(v.version) ?? 0 })),
  }
}
