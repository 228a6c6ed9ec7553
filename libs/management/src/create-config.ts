import { findTeamPluginConfigId, insertPluginConfig, lockPluginConfigCreate } from '@plugin-server/db'
import type { PoolClient } from 'pg'
import { assertAttachmentInputs } from './attachment-size'
import { assertConfigOrder } from './config-order'
import { assertTeamExists, configView, inTransaction, upsertAttachment } from './db-helpers'
import { CreateConfigInput, ManagementContext, ManagementError, PluginConfigView } from './interfaces'
import { findPluginSummary } from './list-plugins'
import { lockTeamOrder, makeRoomForOrder } from './make-room-for-order'
import { notifyWorkers } from './notify'
import { sealConfig } from './seal-config'
import { validateConfig } from './validate-config'
import { versionSchema } from './version-schema'

async function assertNoConfig(client: PoolClient, teamId: number, pluginId: number, pluginName: string): Promise<void> {
  const existing = await findTeamPluginConfigId(client, teamId, pluginId)
  if (existing !== null) {
    throw new ManagementError('conflict', `team ${teamId} already has a config for plugin ${JSON.stringify(pluginName)} (config ${existing}); update that one`)
  }
}

/**
 * One config per plugin per team, as in PostHog. New configs run last unless given an order (a
 * taken one moves the configs from there on down by one) and start disabled unless asked.
 */
export async function createConfig(ctx: ManagementContext, input: CreateConfigInput): Promise<PluginConfigView> {
  assertAttachmentInputs(ctx, input.attachments ?? [])
  assertConfigOrder(input.order)
  const id = await inTransaction(ctx.pool, async (client) => {
    await assertTeamExists(client, input.teamId)
    const plugin = await findPluginSummary(client, input.plugin)
    // Serializes concurrent creates for the same team and plugin so the conflict message wins over a unique violation.
    await lockPluginConfigCreate(client, input.teamId, plugin.id)
    await assertNoConfig(client, input.teamId, plugin.id, plugin.name)
    const attachments = input.attachments ?? []
    const pinnedVersion = input.pinnedVersion ?? null
    const schema = await versionSchema(client, plugin, pinnedVersion)
    const config = validateConfig({
      pluginName: plugin.name,
      schema,
      stored: {},
      given: input.config ?? {},
      attachmentKeys: new Set(attachments.map((a) => a.key)),
      uploadKeys: attachments.map((a) => a.key),
    })
    await lockTeamOrder(client, input.teamId)
    if (input.order !== undefined) await makeRoomForOrder(client, input.teamId, input.order, null)
    const configId = await insertPluginConfig(client, {
      teamId: input.teamId,
      pluginId: plugin.id,
      enabled: input.enabled ?? false,
      order: input.order ?? null,
      config: sealConfig(plugin.name, schema, config, { teamId: input.teamId, pluginId: plugin.id }, ctx.secrets),
      pinnedVersion,
    })
    for (const attachment of attachments) await upsertAttachment(client, configId, attachment)
    return configId
  })
  const view = await configView(ctx.pool, ctx.secrets, id)
  ctx.logger.info(
    { teamId: view.team_id, pluginConfigId: id, pluginId: view.plugin_id, keys: Object.keys(view.config), attachments: view.attachments.map((a) => a.key) },
    'plugin config created',
  )
  await notifyWorkers(ctx, { reason: 'config created', teamId: view.team_id, pluginConfigId: id, pluginId: view.plugin_id })
  return view
}
