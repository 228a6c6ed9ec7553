import type { Pool } from 'pg'
import { PluginVersionKey, versionKey } from '../plugin-capabilities'

/**
 * The plugin.json of each of these versions, by `versionKey`; a version not stored is left out. A
 * version's row never changes (a new upload is a new version), so a reader may keep what it read.
 * `PluginJson` is typed by the caller (this package does not depend on plugin-vm).
 */
export async function listPluginVersionJsons<PluginJson = unknown>(pool: Pool, versions: readonly PluginVersionKey[]): Promise<Map<string, PluginJson>> {
  const result = new Map<string, PluginJson>()
  if (versions.length === 0) return result
  const { rows } = await pool.query<{ plugin_id: number; version: number; plugin_json: PluginJson }>(
    `SELECT v.plugin_id, v.version, v.plugin_json FROM plugin_versions v
     JOIN unnest($1::int[], $2::int[]) AS wanted(plugin_id, version) ON v.plugin_id = wanted.plugin_id AND v.version = wanted.version`,
    [versions.map((v) => v.pluginId), versions.map((v) => v.version)],
  )
  for (const row of rows) result.set(versionKey({ pluginId: row.plugin_id, version: row.version }), row.plugin_json)
  return result
}
