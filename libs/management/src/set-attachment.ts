import { touchPluginConfig } from '@plugin-server/db'
import { assertAttachmentInputs } from './attachment-size'
import { configView, findConfigRow, inTransaction, upsertAttachment } from './db-helpers'
import { AttachmentInput, ManagementContext, PluginConfigView } from './interfaces'
import { notifyWorkers } from './notify'
import { assertAttachmentField } from './validate-config'

/** Replaces one attachment of a config; the key must be an `attachment` field of the plugin. */
export async function setAttachment(ctx: ManagementContext, id: number, attachment: AttachmentInput): Promise<PluginConfigView> {
  assertAttachmentInputs(ctx, [attachment])
  await inTransaction(ctx.pool, async (client) => {
    const row = await findConfigRow(client, ctx.secrets, id, true)
    assertAttachmentField(row.plugin_name, row.config_schema, attachment.key)
    await upsertAttachment(client, id, attachment)
    await touchPluginConfig(client, id)
  })
  const view = await configView(ctx.pool, ctx.secrets, id)
  ctx.logger.info({ teamId: view.team_id, pluginConfigId: id, key: attachment.key, size: attachment.contents.length }, 'plugin attachment set')
  await notifyWorkers(ctx, { reason: 'attachment set', teamId: view.team_id, pluginConfigId: id, pluginId: view.plugin_id })
  return view
}
