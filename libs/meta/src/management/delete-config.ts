import { ManagementContext, ManagementError } from './interfaces'
import { notifyWorkers } from './notify'

/** Attachments and storage go with it (ON DELETE CASCADE); log rows stay for later reading. */
export async function deleteConfig(ctx: ManagementContext, id: number): Promise<{ id: number; deleted: true }> {
  const { rows } = await ctx.pool.query<{ team_id: number; plugin_id: number }>('DELETE FROM plugin_configs WHERE id = $1 RETURNING team_id, plugin_id', [id])
  if (!rows[0]) throw new ManagementError('not_found', `plugin config ${id} not found`)
  ctx.logger.info({ teamId: rows[0].team_id, pluginConfigId: id, pluginId: rows[0].plugin_id }, 'plugin config deleted')
  await notifyWorkers(ctx, { reason: 'config deleted', teamId: rows[0].team_id, pluginConfigId: id, pluginId: rows[0].plugin_id })
  return { id, deleted: true }
}
