import type { Pool, PoolClient } from 'pg'
import { AttachmentView, ManagementError, PluginConfigView } from './interfaces'
import { PluginConfigRow, toConfigView } from './redact'
import { envSecretBox } from '../secrets/env-secret-box'
import { openSecretFields } from '../secrets/secret-fields'
import { SecretKeyError } from '../secrets/secret-box'

export type Queryable = Pool | PoolClient

// One transaction helper for every store owner; management code imports it from here as before.
export { inTransaction } from '@plugin-server/db'

// A pinned config is validated and shown against its version's plugin.json, not the current one.
const CONFIG_ROW = `
SELECT c.id, c.team_id, c.plugin_id, p.name AS plugin_name, COALESCE(v.plugin_json->'config', p.config_schema) AS config_schema,
       c.pinned_version, COALESCE(v.version, p.version) AS plugin_version, c.enabled, c."order", c.config,
       c.error, c.disabled_reason, c.created_at, c.updated_at
FROM plugin_configs c JOIN plugins p ON p.id = c.plugin_id
LEFT JOIN plugin_versions v ON v.plugin_id = c.plugin_id AND v.version = c.pinned_version`

export async function findConfigRow(db: Queryable, id: number, forUpdate = false): Promise<PluginConfigRow> {
  const { rows } = await db.query<PluginConfigRow>(`${CONFIG_ROW} WHERE c.id = $1${forUpdate ? ' FOR UPDATE OF c' : ''}`, [id])
  if (!rows[0]) throw new ManagementError('not_found', `plugin config ${id} not found`)
  return openRow(rows[0])
}

/**
 * Rows with their secret values decrypted: merging an update and re-checking on enable work on
 * plaintext, so writes need the key. Nothing here is returned to callers as is.
 */
function openRow(row: PluginConfigRow): PluginConfigRow {
  try {
    return { ...row, config: openSecretFields(row.config, envSecretBox(), { teamId: row.team_id, pluginId: row.plugin_id }) }
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
function rowForView(row: PluginConfigRow): PluginConfigRow {
  try {
    return openRow(row)
  } catch (err) {
    if ((err as Error).cause instanceof SecretKeyError) return row
    throw err
  }
}

export async function findConfigRowForView(db: Queryable, id: number): Promise<PluginConfigRow> {
  const { rows } = await db.query<PluginConfigRow>(`${CONFIG_ROW} WHERE c.id = $1`, [id])
  if (!rows[0]) throw new ManagementError('not_found', `plugin config ${id} not found`)
  return rowForView(rows[0])
}

/** A team's configs in chain order, for views (see rowForView). */
export async function listConfigRows(db: Queryable, teamId: number): Promise<PluginConfigRow[]> {
  const { rows } = await db.query<PluginConfigRow>(`${CONFIG_ROW} WHERE c.team_id = $1 ORDER BY c."order", c.id`, [teamId])
  return rows.map(rowForView)
}

export async function attachmentViews(db: Queryable, configIds: number[]): Promise<Map<number, AttachmentView[]>> {
  const { rows } = await db.query<AttachmentView & { plugin_config_id: number }>(
    `SELECT plugin_config_id, key, file_name, content_type, octet_length(contents) AS size
     FROM plugin_attachments WHERE plugin_config_id = ANY($1::int[]) ORDER BY key`,
    [configIds],
  )
  const byConfig = new Map<number, AttachmentView[]>(configIds.map((id) => [id, []]))
  for (const { plugin_config_id, ...view } of rows) byConfig.get(plugin_config_id)?.push(view)
  return byConfig
}

export async function configView(db: Queryable, id: number): Promise<PluginConfigView> {
  const row = await findConfigRowForView(db, id)
  return toConfigView(row, (await attachmentViews(db, [id])).get(id) ?? [])
}

/** The team of a config, without locking it; not_found when there is no such config. */
export async function teamOf(db: Queryable, id: number): Promise<number> {
  const { rows } = await db.query<{ team_id: number }>('SELECT team_id FROM plugin_configs WHERE id = $1', [id])
  if (!rows[0]) throw new ManagementError('not_found', `plugin config ${id} not found`)
  return rows[0].team_id
}

export async function assertTeamExists(db: Queryable, teamId: number): Promise<void> {
  const { rows } = await db.query('SELECT 1 FROM teams WHERE id = $1', [teamId])
  if (rows.length === 0) throw new ManagementError('not_found', `team ${teamId} not found`)
}

export async function upsertAttachment(
  db: Queryable,
  configId: number,
  a: { key: string; file_name: string; content_type: string; contents: Buffer },
): Promise<void> {
  await db.query(
    `INSERT INTO plugin_attachments (plugin_config_id, key, content_type, file_name, contents) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (plugin_config_id, key) DO UPDATE SET content_type = EXCLUDED.content_type, file_name = EXCLUDED.file_name, contents = EXCLUDED.contents`,
    [configId, a.key, a.content_type, a.file_name, a.contents],
  )
}

export async function storedAttachmentKeys(db: Queryable, configId: number): Promise<Set<string>> {
  const { rows } = await db.query<{ key: string }>('SELECT key FROM plugin_attachments WHERE plugin_config_id = $1', [configId])
  return new Set(rows.map((r) => r.key))
}
