import type { Pool } from 'pg'
import { PLUGIN_RECORD_COLUMNS, PluginRecord } from './plugin-record'

export async function listPluginRecords<Schema = unknown>(pool: Pool): Promise<PluginRecord<Schema>[]> {
  const { rows } = await pool.query<PluginRecord<Schema>>(`SELECT ${PLUGIN_RECORD_COLUMNS} FROM plugins ORDER BY name`)
  return rows
}
