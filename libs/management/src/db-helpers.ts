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
import { openConfigFields, SecretBox } from '@plugin-server/secrets'
import type { PluginConfigField } from '@plugin-server/plugin-vm'

import type { PluginConfigDetailRecord, Queryable } from '@plugin-server/db'
export type { Queryable }

type PluginConfigSchema = PluginConfigField[]

// One transaction helper for every store owner; management code imports it from here as before.
export { inTransaction } from '@plugin-server/db'

export async function findConfigRow(db: Queryable, box: SecretBox, id: number, forUpdate = false): Promise<PluginConfigRow> {
  const row = await findPluginConfigDetail<PluginConfigSchema>(db, id, forUpdate)
  if (!row) throw new ManagementError('not_found', `plugin config ${id} not found`)
  return openRow(row, box)
}

/**
 * Rows with their secret values decrypted: merging an update and re-checking on enable work on
 * plaintext. A value that does not open (no key in this process, or it only looked sealed) stays
 * as stored and is named in `unreadable`, so an update can still clear or replace it and a view
 * (config get/list, logs), which shows secrets only as set / not set, needs no PLUGIN_SECRETS_KEYS.
 * With the key, views can also scrub the values out of error texts and logs. Nothing here is
 * returned to callers as is.
 */
function openRow(row: PluginConfigDetailRecord<PluginConfigSchema>, box: SecretBox): PluginConfigRow {
  const opened = openConfigFields(row.config, box, { teamId: row.team_id, pluginId: row.plugin_id })
  return { ...row, config: opened.config, sealed_keys: opened.sealed, unreadable: opened.unreadable }
}

export async function findConfigRowForView(db: Queryable, box: SecretBox, id: number): Promise<PluginConfigRow> {
  const row = await findPluginConfigDetail<PluginConfigSchema>(db, id)
  if (!row) throw new ManagementError('not_found', `plugin config ${id} not found`)
  return openRow(row, box)
}

/** A team's configs in chain order, for views (see openRow). */
export async function listConfigRows(db: Queryable, box: SecretBox, teamId: number): Promise<PluginConfigRow[]> {
  const rows = await listTeamPluginConfigDetails<PluginConfigSchema>(db, teamId)
  return rows.map((row) => openRow(row, box))
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
