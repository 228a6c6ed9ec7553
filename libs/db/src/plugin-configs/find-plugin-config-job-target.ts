import type { Pool } from 'pg'

/** What triggering a job checks: `PluginJson` (the version the config runs, its pin or the current one) is typed by the caller. */
export interface PluginConfigJobTargetRecord<PluginJson = unknown> {
  team_id: number
  enabled: boolean
  name: string
  plugin_json: PluginJson
}

export async function findPluginConfigJobTarget<PluginJson = unknown>(pool: Pool, configId: number): Promise<PluginConfigJobTargetRecord<PluginJson> | null> {
  const { rows } = await pool.query<PluginConfigJobTargetRecord<PluginJson>>(
    // A pinned config's jobs are those of its version's plugin.json.
    `SELECT c.team_id, c.enabled, p.name, COALESCE(v.plugin_json, p.plugin_json) AS plugin_json FROM plugin_configs c JOIN plugins p ON p.id = c.plugin_id
     LEFT JOIN plugin_versions v ON v.plugin_id = c.plugin_id AND v.version = c.pinned_version WHERE c.id = $1`,
    [configId],
  )
  return rows[0] ?? null
}
