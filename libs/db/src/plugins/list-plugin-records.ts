import type { Queryable } from '../queryable'
import { PLUGIN_RECORD_COLUMNS, PluginRecord } from './plugin-record'

/**
 * One page of plugins in name order (unique, `plugins_name`), as they have always been listed:
 * the first `limit` named after `afterName` ('' for the first page).
 */
export async function listPluginRecords<Schema = unknown>(db: Queryable, afterName: string, limit: number): Promise<PluginRecord<Schema>[]> {
  const { rows } = await db.query<PluginRecord<Schema>>(`SELECT ${PLUGIN_RECORD_COLUMNS} FROM plugins WHERE name > $1 ORDER BY name LIMIT $2`, [
    afterName,
    limit,
  ])
  return rows
}
