import type { Queryable } from '../queryable'
import { PLUGIN_CONFIG_RECORD_SELECT, PluginConfigRecord } from './plugin-config-record'

/** A team's configs in chain order. */
export async function listTeamPluginConfigRecords<Schema = unknown>(db: Queryable, teamId: number): Promise<PluginConfigRecord<Schema>[]> {
  const { rows } = await db.query<PluginConfigRecord<Schema>>(`${PLUGIN_CONFIG_RECORD_SELECT} WHERE c.team_id = $1 ORDER BY c."order", c.id`, [teamId])
  return rows
}
