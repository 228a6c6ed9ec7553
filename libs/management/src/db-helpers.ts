import {
  findPluginConfigDetail,
  findPluginConfigTeam,
  findTeamById,
  listAttachmentSummaries,
  listPluginAttachmentKeys,
  listTeamPluginConfigDetails,
} from '@plugin-server/db'
import { AttachmentView, ManagementError, PluginConfigView } from './interfaces'
import { PluginConfigRow, toConfigView } from './redact'
import { openSecretFields, SecretBox, SecretKeyError } from '@plugin-server/secrets'

import type { Queryable } from '@plugin-server/db'
export type { Queryable }

// One transaction helper for every store owner; management code imports it from here as before.
export { inTransaction } from '@plugin-server/db'

export async function findConfigRow(db: Queryable, box: SecretBox, id: number, forUpdate = false): Promise<PluginConfigRow> {
  const row = await findPluginConfigDetail<PluginConfigRow['config_schema']>(db, id, forUpdate)
  if (!row) throw new ManagementError('not_found', `plugin config ${id} not found`)
  return openRow(row, box)
}

/**
 * Rows with their secret values decrypted: merging an update and re-checking on enable work on
 * plaintext, so writes need the key. Nothing here is returned to callers as is.
 */
function openRow(row: PluginConfigRow, box: SecretBox): PluginConfigRow {
  try {
    return { ...row, config: openSecretFields(row.config, box, { teamId: row.team_id, pluginId: row.plugin_id }) }
  } catch (err) {
    throw new Error(`plugin config ${row.id}: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * A row for a view (config get/list, logs), which shows secrets only as set / not set and so must
 * not need PLUGIN_SECRETS_KEYS: a shell or pod without the key can still read. With the key, values
 * are opened so views can also scrub them out of error texts and logs (writers already redact them);
 * without it, the sealed values stay as they are and are never shown.
 */
function rowForView(row: PluginConfigRow, box: SecretBox): PluginConfigRow {
  try {
    return openRow(row, box)
  } catch (err) {
    if ((err as Error).cause instanceof SecretKeyError) return row
    throw err
  }
}

export async function findConfigRowForView(db: Queryable, box: SecretBox, id: number): Promise<PluginConfigRow> {
  const row = await findPluginConfigDetail<PluginConfigRow['config_schema']>(db, id)
  if (!row) throw new ManagementError('not_found', `plugin config ${id} not found`)
  return rowForView(row, box)
}

/** A team's configs in chain order, for views (see rowForView). */
export async function listConfigRows(db: Queryable, box: SecretBox, teamId: number): Promise<PluginConfigRow[]> {
  const rows = await listTeamPluginConfigDetails<PluginConfigRow['config_schema']>(db, teamId)
  return rows.map((row) => rowForView(row, box))
}

export async function attachmentViews(db: Queryable, configIds: number[]): Promise<Map<number, AttachmentView[]>> {
  const rows = await listAttachmentSummaries(db, configIds)
  const byConfig = new Map<number, AttachmentView[]>(configIds.map((id) => [id, []]))
  for (const { plugin_config_id, ...view } of rows) byConfig.get(plugin_config_id)?.push(view)
  return byConfig
}

export async function configView(db: Queryable, box: SecretBox, id: number): Promise<PluginConfigView> {
  const row = await findConfigRowForView(db, box, id)
  return toConfigView(row, (await attachmentViews(db, [id])).get(id) ?? [])
}

/** The team of a config, without locking it; not_found when there is no such config. */
export async function teamOf(db: Queryable, id: number): Promise<number> {
  const teamId = await findPluginConfigTeam(db, id)
  if (teamId === null) throw new ManagementError('not_found', `plugin config ${id} not found`)
  return teamId
}

export async function assertTeamExists(db: Queryable, teamId: number): Promise<void> {
  if (!(await findTeamById(db, teamId))) throw new ManagementError('not_found', `team ${teamId} not found`)
}

export { upsertPluginAttachment as upsertAttachment } from '@plugin-server/db'

export async function storedAttachmentKeys(db: Queryable, configId: number): Promise<Set<string>> {
  return new Set(await listPluginAttachmentKeys(db, configId))
}
