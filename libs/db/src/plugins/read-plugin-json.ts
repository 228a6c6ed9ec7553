import type { Queryable } from '../queryable'

/** The current version's plugin.json, typed by the caller (libs/db does not depend on plugin-vm); null when there is no such plugin. */
export async function readPluginJson<Json = unknown>(db: Queryable, pluginId: number): Promise<Json | null> {
  const { rows } = await db.query<{ plugin_json: Json }>('SELECT plugin_json FROM plugins WHERE id = $1', [pluginId])
  return rows[0]?.plugin_json ?? null
}
