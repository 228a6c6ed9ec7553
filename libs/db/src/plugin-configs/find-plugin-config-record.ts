import type { Queryable } from '../queryable'
import { PLUGIN_CONFIG_RECORD_SELECT, PluginConfigRecord } from './plugin-config-record'

/** `forUpdate` locks the config row (not its plugin) until the caller's transaction ends. Null when there is no such config. */
export async function findPluginConfigRecord<Schema = unknown>(db: Queryable, id: number, forUpdate = false): Promise<PluginConfigRecord<Schema> | null> {
  const { rows } = await db.query<PluginConfigRecord<Schema>>(`${PLUGIN_CONFIG_RECORD_SELECT} WHERE c.id = $1${forUpdate ? ' FOR UPDATE OF c' : ''}`, [id])
  return rows[0] ?? null
}
