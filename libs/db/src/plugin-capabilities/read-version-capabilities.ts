import type { Pool } from 'pg'
import { PluginVersionCapabilities, PluginVersionKey, versionKey } from './plugin-version-capabilities'

/**
 * The recorded capabilities of these versions, by `versionKey`; a version whose capabilities are
 * not learned yet (or that is not stored) maps to null.
 */
export async function readVersionCapabilities(pool: Pool, versions: readonly PluginVersionKey[]): Promise<Map<string, PluginVersionCapabilities | null>> {
  const result = new Map<string, PluginVersionCapabilities | null>(versions.map((v) => [versionKey(v), null]))
  if (versions.length === 0) return result
  const { rows } = await pool.query<{ plugin_id: number; version: number; capabilities: PluginVersionCapabilities }>(
    `SELECT v.plugin_id, v.version, v.capabilities FROM plugin_versions v
     JOIN unnest($1::int[], $2::int[]) AS wanted(plugin_id, version) ON v.plugin_id = wanted.plugin_id AND v.version = wanted.version
     WHERE v.capabilities IS NOT NULL`,
    [versions.map((v) => v.pluginId), versions.map((v) => v.version)],
  )
  for (const row of rows) result.set(versionKey({ pluginId: row.plugin_id, version: row.version }), row.capabilities)
  return result
}
