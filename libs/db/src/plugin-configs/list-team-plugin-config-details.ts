import type { Queryable } from '../queryable'
import { PLUGIN_CONFIG_DETAIL_SELECT, PluginConfigDetailRecord } from './plugin-config-detail-record'

/** A team's configs in chain order. */
export async function listTeamPluginConfigDetails<Schema = unknown>(db: Queryable, teamId: number): Promise<PluginConfigDetailRecord<Schema>[]> {
  const { rows } = await db.query<PluginConfigDetailRecord<Schema>>(`${PLUGIN_CONFIG_DETAIL_SELECT} WHERE c.team_id = $1 ORDER BY c."order", c.id`, [teamId])
  return rows
}
