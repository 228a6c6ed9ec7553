import type { PoolClient } from 'pg'
import { PLUGIN_RECORD_COLUMNS, PluginRecord } from './plugin-record'
import { PluginRowInput } from './plugin-row-input'

/** The plugin row becomes `version`: the row always holds the current version's files. */
export async function updatePluginRow<Schema = unknown>(
  client: PoolClient,
  pluginId: number,
  version: number,
  p: PluginRowInput,
): Promise<PluginRecord<Schema>> {
  const { rows } = await client.query<PluginRecord<Schema>>(
    `UPDATE plugins SET name = $1, description = $2, url = $3, plugin_json = $4, config_schema = $5, source = $6, content_hash = $7,
       version = $9, updated_at = now() WHERE id = $8 RETURNING ${PLUGIN_RECORD_COLUMNS}`,
    [p.name, p.description, p.url, p.pluginJson, p.configSchema, p.source, p.contentHash, pluginId, version],
  )
  return rows[0]
}
