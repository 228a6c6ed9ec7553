import { findTeamById, listTryConfigRows, TryConfigRecord } from '@plugin-server/db'
import type { PluginAttachment, PluginConfigField } from '@plugin-server/plugin-vm'
import {
  assertAttachmentField,
  assertTeamExists,
  configFields,
  findPluginSummary,
  ManagementContext,
  ManagementError,
  schemaSecretValues as secretValues,
  validateConfig,
} from '@plugin-server/management'
import { openSecretFields, SecretBox, sealedKeys, secretAttachmentKeys } from '@plugin-server/secrets'
import type { TryTarget } from './interfaces'
import { TryRefusedError } from './try-errors'

/** One plugin a dry run loads, with everything read up front so the run itself only runs plugins. */
export interface TrySpec {
  /** null: a plugin the team has not configured; it reads empty cache, storage and cursors. */
  configId: number | null
  teamId: number
  teamApiToken: string
  pluginId: number
  pluginName: string
  contentHash: string
  /** Plaintext, secrets included: the plugin gets what it would get on the workers. */
  config: Record<string, unknown>
  /** Given with the request (a plugin not configured yet); absent: a config's stored attachments are read. */
  attachments?: Record<string, PluginAttachment>
  /** Values scrubbed out of everything the dry run returns. */
  secrets: string[]
  /** Its attachment fields marked secret: their files' secrets are scrubbed too (attachmentSecrets). */
  secretAttachmentKeys: string[]
  /** Why the config cannot run (its secrets do not decrypt); shown as its failing step. */
  loadError: string | null
}

type ConfigRow = TryConfigRecord<PluginConfigField[]>

/** Secrets are opened with the caller's box, the one its management operations use; a config that does not open fails alone. */
function fromRow(row: ConfigRow, box: SecretBox): TrySpec {
  const base = {
    configId: row.id,
    teamId: row.team_id,
    teamApiToken: row.api_token,
    pluginId: row.plugin_id,
    pluginName: row.name,
    contentHash: row.content_hash,
    secretAttachmentKeys: secretAttachmentKeys(row.config_schema),
  }
  try {
    const config = openSecretFields(row.config, box, { teamId: row.team_id, pluginId: row.plugin_id })
    // Sealed values are secrets whatever the schema in use says (see toConfigView).
    return { ...base, config, secrets: secretValues(row.config_schema, config, sealedKeys(row.config)), loadError: null }
  } catch (err) {
    return { ...base, config: {}, secrets: [], loadError: `its secret config values cannot be decrypted: ${(err as Error).message}` }
  }
}

/** Names a management error's field as the request body does (`config.key`, `attachments.key`), as the config forms name their fields. */
function renamed(err: unknown, field: (key: string | undefined) => string): unknown {
  return err instanceof ManagementError ? new ManagementError(err.code, err.message, field(err.field)) : err
}

/** A plugin the team has not configured: the given values and files go through the same checks as creating a config. */
async function pluginSpec(ctx: ManagementContext, teamId: number, target: Extract<TryTarget, { kind: 'plugin' }>): Promise<TrySpec> {
  let plugin
  try {
    plugin = await findPluginSummary(ctx.pool, target.plugin)
  } catch (err) {
    throw renamed(err, () => 'target.plugin_id')
  }
  const uploadKeys = target.attachments.map((a) => a.key)
  try {
    // Before the values: a key given both ways is wrong as a file first (validateConfig would name it as a value).
    for (const key of uploadKeys) assertAttachmentField(plugin.name, plugin.config_schema, key)
  } catch (err) {
    throw renamed(err, (key) => (key ? `attachments.${key}` : 'attachments'))
  }
  let config: Record<string, string>
  try {
    config = validateConfig({
      pluginName: plugin.name,
      schema: plugin.config_schema,
      stored: {},
      given: target.config,
      attachmentKeys: new Set(uploadKeys),
      uploadKeys,
    })
  } catch (err) {
    const attachmentFields = new Set(configFields(plugin.config_schema).flatMap((f) => (f.type === 'attachment' ? [f.key as string] : [])))
    throw renamed(err, (key) => {
      if (key === undefined) return 'config'
      // A key not given as a value can only be missing; for an attachment field, what is missing is the file.
      return !Object.hasOwn(target.config, key) && attachmentFields.has(key) ? `attachments.${key}` : `config.${key}`
    })
  }
  const team = await findTeamById(ctx.pool, teamId)
  if (!team) throw new ManagementError('not_found', `team ${teamId} does not exist`)
  return {
    configId: null,
    teamId,
    teamApiToken: team.api_token,
    pluginId: plugin.id,
    pluginName: plugin.name,
    contentHash: plugin.content_hash,
    config,
    // As the workers read them from plugin_attachments (loadAttachments).
    attachments: Object.fromEntries(target.attachments.map((a) => [a.key, { content_type: a.content_type, file_name: a.file_name, contents: a.contents }])),
    secrets: secretValues(plugin.config_schema, config),
    secretAttachmentKeys: secretAttachmentKeys(plugin.config_schema),
    loadError: null,
  }
}

/**
 * What a target runs, in order. A config of another team is refused like one that does not exist
 * (403 either way), so a team token cannot learn which config ids exist elsewhere.
 */
export async function loadTrySpecs(ctx: ManagementContext, teamId: number, target: TryTarget): Promise<TrySpec[]> {
  await assertTeamExists(ctx.pool, teamId)
  if (target.kind === 'plugin') return [await pluginSpec(ctx, teamId, target)]
  const id = target.kind === 'config' ? target.pluginConfigId : null
  const rows = await listTryConfigRows<PluginConfigField[]>(ctx.pool, teamId, id, target.kind === 'chain')
  if (target.kind === 'config' && rows.length === 0) {
    throw new TryRefusedError(403, 'forbidden', `plugin config ${id} is not one of team ${teamId}'s configs`, 'target.plugin_config_id')
  }
  return rows.map((row) => fromRow(row, ctx.secrets))
}
