import type { Queryable } from '../queryable'

/** A version with its own config fields (`Schema`, typed by the caller): a config pinned to it is edited against them. */
export interface PluginVersionSummaryRecord<Schema = unknown> {
  version: number
  content_hash: string
  created_at: Date
  config_schema: Schema
}

/** Newest first. */
export async function listPluginVersionSummaries<Schema = unknown>(db: Queryable, pluginId: number): Promise<PluginVersionSummaryRecord<Schema>[]> {
  const { rows } = await db.query<PluginVersionSummaryRecord<Schema>>(
    `SELECT version, content_hash, created_at, COALESCE(plugin_json->'config', '[]'::jsonb) AS config_schema FROM plugin_versions WHERE plugin_id = $1 ORDER BY version DESC`,
    [pluginId],
  )
  return rows
}
