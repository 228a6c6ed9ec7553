import type { PoolClient } from 'pg'
import { PLUGIN_RECORD_COLUMNS, PluginRecord } from './plugin-record'
import { PluginRowInput } from './plugin-row-input'

/** A new plugin, at version 1 (the column default). */
export async function insertPluginRow<Schema = unknown>(client: PoolClient, p: PluginRowInput): Promise<PluginRecord<Schema>> {
  const { rows } = await client.query<PluginRecord<Schema>>(
    `INSERT INTO plugins (name, description, url, plugin_json, config_schema, source, content_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)
     RETURNING ${PLUGIN_RECORD_COLUMNS}`,
    [p.name, p.description, p.url, p.pluginJson, p.configSchema, p.source, p.contentHash],
  )
  return rows[0]
}
