import type { Queryable } from '../queryable'
import { PLUGIN_CONFIG_DETAIL_SELECT, PluginConfigDetailRecord } from './plugin-config-detail-record'

/** `forUpdate` locks the config row (not its plugin) until the caller's transaction ends. Null when there is no such config. */
export async function findPluginConfigDetail<Schema = unknown>(db: Queryable, id: number, forUpdate = false): Promise<PluginConfigDetailRecord<Schema> | null> {
  const { rows } = await db.query<PluginConfigDetailRecord<Schema>>(`${PLUGIN_CONFIG_DETAIL_SELECT} WHERE c.id = $1${forUpdate ? ' FOR UPDATE OF c' : ''}`, [
    id,
  ])
  return rows[0] ?? null
}
