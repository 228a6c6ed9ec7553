import { updatePluginConfigRow } from '@plugin-server/db'
import { assertAttachmentInputs } from './attachment-size'
import { assertReadable } from './assert-readable'
import { assertConfigOrder } from './config-order'
import { configView, findConfigRow, inTransaction, storedAttachmentKeys, teamOf, upsertAttachment } from './db-helpers'
import { ManagementContext, PluginConfigView, UpdateConfigInput } from './interfaces'
import { lockTeamOrder, makeRoomForOrder } from './make-room-for-order'
import { notifyWorkers } from './notify'
import { sealConfig } from './seal-config'
import { validateConfig } from './validate-config'
import { versionSchema } from './version-schema'

/**
 * Merges into what is stored: keys not given (secrets included) keep their value, a key given as
 * null is cleared (and falls back to its default, if it has one), and '' empties an optional text
 * field (a choice, secret or required field it clears; see validateConfig). A value stored sealed stays
 * sealed, replaced or not, whatever the schema of the version it will run says.
 */
export async function updateConfig(ctx: ManagementContext, id: number, input: UpdateConfigInput): Promise<PluginConfigView> {
  assertAttachmentInputs(ctx, input.attachments ?? [])
  assertConfigOrder(input.order)
  const changedKeys = await inTransaction(ctx.pool, async (client) => {
    // The team's order lock comes before the row lock, as in reorderConfigs, so the two cannot deadlock.
    if (input.order !== undefined && input.order !== null) await lockTeamOrder(client, await teamOf(client, id))
    const row = await findConfigRow(client, ctx.secrets, id, true)
    // As setConfigEnabled: enabled with a value the workers cannot open, the config would be left out unseen.
    if (input.enabled === true) assertReadable(row, input.config ?? {})
    const attachments = input.attachments ?? []
    const keys = await storedAttachmentKeys(client, id)
    for (const a of attachments) keys.add(a.key)
    // A new pin (or unpinning) checks the config against the fields of the version it will run.
    const schema =
      input.pinnedVersion === undefined ? row.config_schema : await versionSchema(client, { id: row.plugin_id, name: row.plugin_name }, input.pinnedVersion)
    const config = validateConfig({
      pluginName: row.plugin_name,
      schema,
      stored: row.config,
      given: input.config ?? {},
      attachmentKeys: keys,
      uploadKeys: attachments.map((a) => a.key),
    })
    if (input.order !== undefined && input.order !== null && input.order !== row.order) await makeRoomForOrder(client, row.team_id, input.order, id)
    await updatePluginConfigRow(client, id, {
      config: sealConfig(row.plugin_name, schema, config, { teamId: row.team_id, pluginId: row.plugin_id }, ctx.secrets, {
        sealed: row.sealed_keys,
        // A value that does not open (it only looked sealed, or its key is gone) goes on as it was unless given anew.
        asStored: Object.keys(row.unreadable).filter((key) => !Object.hasOwn(input.config ?? {}, key)),
      }),
      order: input.order ?? null,
      enabled: input.enabled ?? null,
      pin: input.pinnedVersion === undefined ? undefined : { version: input.pinnedVersion },
    })
    for (const attachment of attachments) await upsertAttachment(client, id, attachment)
    return [...Object.keys(input.config ?? {}), ...attachments.map((a) => a.key), ...(input.pinnedVersion !== undefined ? ['pinned_version'] : [])]
  })
  const view = await configView(ctx.pool, ctx.secrets, id)
  ctx.logger.info(
    { teamId: view.team_id, pluginConfigId: id, pluginId: view.plugin_id, changedKeys, order: input.order, enabled: input.enabled },
    'plugin config updated',
  )
  await notifyWorkers(ctx, { reason: 'config updated', teamId: view.team_id, pluginConfigId: id, pluginId: view.plugin_id })
  return view
}
