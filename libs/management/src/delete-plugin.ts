import { deletePluginRow, listPluginConfigVersions, lockPluginName, lockPluginRow } from '@plugin-server/db'
import { inTransaction } from './db-helpers'
import { forgetConfigRedis } from './forget-config-redis'
import { forgetConfigMetrics } from './forget-metrics'
import { DeletePluginResult, ManagementContext, ManagementError, PluginConfigUse } from './interfaces'
import { findPluginSummary } from './list-plugins'
import { notifyWorkers } from './notify'

function describe(configs: readonly PluginConfigUse[]): string {
  return configs.map((c) => `config ${c.id} (team ${c.team_id}, ${c.enabled ? 'enabled' : 'disabled'})`).join(', ')
}

/**
 * Removes a plugin with every version. Refused while any config uses it (enabled or not), naming
 * them, since deleting would delete those configs too; `force` deletes them with it (their
 * attachments, storage, plugin metrics and Redis state as well, as `deleteConfig`; log rows stay).
 */
export async function deletePlugin(
  ctx: ManagementContext,
  pluginRef: number | string,
  /** `forceHint`: how the caller's user forces it (`pass --force`, `add ?force=true`), for the refusal. */
  options: { force?: boolean; forceHint?: string } = {},
): Promise<DeletePluginResult> {
  const result = await inTransaction(ctx.pool, async (client): Promise<DeletePluginResult> => {
    const plugin = await findPluginSummary(client, pluginRef)
    // The install lock: an install cannot add a version (nor a create a config) to a plugin being deleted.
    await lockPluginName(client, plugin.name)
    await lockPluginRow(client, plugin.id)
    const configs = await listPluginConfigVersions(client, plugin.id)
    if (configs.length > 0 && options.force !== true) {
      throw new ManagementError(
        'conflict',
        `plugin ${JSON.stringify(plugin.name)} is used by ${configs.length} config(s): ${describe(configs)}; delete those configs first, or ${options.forceHint ?? 'force the delete'} to delete them with it`,
      )
    }
    if (!(await deletePluginRow(client, plugin.id))) throw new ManagementError('not_found', `plugin ${JSON.stringify(plugin.name)} not found`)
    return { id: plugin.id, name: plugin.name, deleted: true, deleted_configs: configs }
  })
  ctx.logger.info({ pluginId: result.id, plugin: result.name, deletedConfigs: result.deleted_configs.map((c) => c.id) }, 'plugin deleted')
  await forgetConfigMetrics(
    ctx,
    result.deleted_configs.map((c) => c.id),
  )
  await notifyWorkers(ctx, { reason: 'plugin deleted', pluginId: result.id })
  await forgetConfigRedis(
    ctx,
    result.deleted_configs.map((c) => c.id),
  )
  return result
}
