import { setPluginConfigEnabled } from '@plugin-server/db'
import { configView, findConfigRow, inTransaction, storedAttachmentKeys } from './db-helpers'
import { assertReadable } from './assert-readable'
import { ManagementContext, PluginConfigView } from './interfaces'
import { notifyWorkers } from './notify'
import { validateConfig } from './validate-config'

/**
 * Enabling re-checks the config, because a newer plugin version may require a field this config
 * lacks; it also clears the reason the lifecycle gave when it disabled the config.
 */
export async function setConfigEnabled(ctx: ManagementContext, id: number, enabled: boolean): Promise<PluginConfigView> {
  await inTransaction(ctx.pool, async (client) => {
    const row = await findConfigRow(client, ctx.secrets, id, true)
    if (enabled) {
      assertReadable(row)
      validateConfig({
        pluginName: row.plugin_name,
        schema: row.config_schema,
        stored: row.config,
        given: {},
        attachmentKeys: await storedAttachmentKeys(client, id),
        uploadKeys: [],
      })
    }
    await setPluginConfigEnabled(client, id, enabled)
  })
  const view = await configView(ctx.pool, ctx.secrets, id)
  ctx.logger.info({ teamId: view.team_id, pluginConfigId: id, pluginId: view.plugin_id }, enabled ? 'plugin config enabled' : 'plugin config disabled')
  await notifyWorkers(ctx, { reason: enabled ? 'config enabled' : 'config disabled', teamId: view.team_id, pluginConfigId: id, pluginId: view.plugin_id })
  return view
}
