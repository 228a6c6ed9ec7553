import { deletePluginConfigRow } from '@plugin-server/db'
import { forgetConfigRedis } from './forget-config-redis'
import { forgetConfigMetrics } from './forget-metrics'
import { ManagementContext, ManagementError } from './interfaces'
import { notifyWorkers } from './notify'

/**
 * Attachments, storage and dead letters go with it (ON DELETE CASCADE), its plugin metrics too, and
 * what it holds in Redis — cursors, its plugin's cache keys of the team, plugin jobs not started yet,
 * its export buffer and pending counts — given back to its team's account; log rows stay for later reading.
 */
export async function deleteConfig(ctx: ManagementContext, id: number): Promise<{ id: number; deleted: true }> {
  const deleted = await deletePluginConfigRow(ctx.pool, id)
  if (!deleted) throw new ManagementError('not_found', `plugin config ${id} not found`)
  ctx.logger.info({ teamId: deleted.team_id, pluginConfigId: id, pluginId: deleted.plugin_id }, 'plugin config deleted')
  await forgetConfigMetrics(ctx, [id])
  await notifyWorkers(ctx, { reason: 'config deleted', teamId: deleted.team_id, pluginConfigId: id, pluginId: deleted.plugin_id })
  // After the reload is out: a worker that still runs the config writes less after the cleanup.
  await forgetConfigRedis(ctx, [id])
  return { id, deleted: true }
}
