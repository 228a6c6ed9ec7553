import type { Queryable } from '../queryable'
import { PLUGIN_RECORD_COLUMNS, PluginRecord } from './plugin-record'

/** By id (a number) or by plugin.json name (a string); null when there is no such plugin. */
export async function findPluginRecord<Schema = unknown>(db: Queryable, ref: { id: number } | { name: string }): Promise<PluginRecord<Schema> | null> {
  const [column, value] = 'id' in ref ? ['id', ref.id] : ['name', ref.name]
  const { rows } = await db.query<PluginRecord<Schema>>(`SELECT ${PLUGIN_RECORD_COLUMNS} FROM plugins WHERE ${column} = $1`, [value])
  return rows[0] ?? null
}
