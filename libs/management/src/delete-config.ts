import { deletePluginConfigRow } from '@plugin-server/db'
import { forgetConfigMetrics } from './forget-metrics'
import { ManagementContext, ManagementError } from './interfaces'
import { notifyWorkers } from './notify'

/** Attachments and storage go with it (ON DELETE CASCADE), its plugin metrics too; log rows stay for later reading. */
export async function deleteConfig(ctx: ManagementContext, id: number): Promise<{ id: number; deleted: true }> {
  const deleted = await deletePluginConfigRow(ctx.pool, id)
  if (!deleted) throw new ManagementError('not_found', `plugin config ${id} not found`)
  ctx.logger.info({ teamId: deleted.team_id, pluginConfigId: id, pluginId: deleted.plugin_id }, 'plugin config deleted')
  await forgetConfigMetrics(ctx, [id])
  await notifyWorkers(ctx, { reason: 'config deleted', teamId: deleted.team_id, pluginConfigId: id, pluginId: deleted.plugin_id })
  return { id, deleted: true }
}
