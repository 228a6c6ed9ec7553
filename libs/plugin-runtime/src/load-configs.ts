import type { PluginAttachment, PluginJson } from '@plugin-server/plugin-vm'
import { EnabledConfigRunRecord, listEnabledConfigRuns, listPluginAttachments, readPluginVersionFiles } from '@plugin-server/db'
import { createHash } from 'node:crypto'
import type { Pool } from 'pg'
import { openSecretFields, SecretBox, sealedKeys, secretKeys } from '@plugin-server/secrets'

/** Everything a worker needs to run one enabled plugin config, as read from Postgres. */
export interface PluginConfigRecord {
  id: number
  teamId: number
  teamApiToken: string
  pluginId: number
  pluginName: string
  /** The version this config runs: its pin, or the plugin's current version. */
  pluginVersion: number
  /** Set when the config is pinned to `pluginVersion` (it stays there when the plugin moves on). */
  pinnedVersion: number | null
  contentHash: string
  order: number
  /** Includes secret values: plugins need them; they never leave the worker. */
  config: Record<string, unknown>
  /** Keys stored sealed: secrets whatever `pluginJson` (the version in use) says, see secretValues. */
  sealedKeys: string[]
  pluginJson: PluginJson
  /**
   * Whether the config had attachments when read. Without any, loading it reads nothing more from
   * Postgres (1 000 configs loading at once were 1 000 queries); adding one changes `signature`, so
   * the config is reloaded and reads them.
   */
  hasAttachments: boolean
  /** Changes whenever the config, its attachments or its plugin change: what reloads compare. */
  signature: string
}

type ConfigRow = EnabledConfigRunRecord<PluginJson>

export interface LoadConfigsOptions {
  ids?: number[]
  /** Opens secret values sealed at rest; without it sealed values cannot be read. */
  secrets?: SecretBox
  /**
   * A config whose secrets do not decrypt (its key was removed from PLUGIN_SECRETS_KEYS) is left out
   * and reported here, so one stale config cannot stop every other config from loading.
   */
  onUnreadable?: (configId: number, message: string) => void
}

/** Enabled configs (all teams, or those matching the filter), in processEvent order, secrets decrypted. */
export async function loadEnabledConfigs(pool: Pool, filter: LoadConfigsOptions = {}): Promise<PluginConfigRecord[]> {
  const rows = await listEnabledConfigRuns<PluginJson>(pool, filter.ids ?? null)
  const box = filter.secrets ?? new SecretBox([])
  const records: PluginConfigRecord[] = []
  for (const r of rows) {
    let config: Record<string, unknown>
    try {
      config = openSecretFields(r.config, box, { teamId: r.team_id, pluginId: r.plugin_id })
    } catch (err) {
      filter.onUnreadable?.(r.id, (err as Error).message)
      continue
    }
    records.push(toRecord(r, config, sealedKeys(r.config)))
  }
  return records
}

function toRecord(r: ConfigRow, config: Record<string, unknown>, sealed: string[]): PluginConfigRecord {
  // Hashed: the signature is compared and may be printed, and it is computed over plaintext so that
  // re-encrypting (secrets rotate) does not look like a change and reload every plugin.
  const configHash = createHash('sha256').update(JSON.stringify(config)).digest('hex')
  return {
    id: r.id,
    teamId: r.team_id,
    teamApiToken: r.api_token,
    pluginId: r.plugin_id,
    pluginName: r.name,
    pluginVersion: r.version,
    pinnedVersion: r.pinned_version,
    contentHash: r.content_hash,
    order: r.order,
    config,
    sealedKeys: sealed,
    pluginJson: r.plugin_json,
    hasAttachments: r.attachments_signature !== null,
    signature: [
      r.content_hash,
      r.version,
      r.order,
      configHash,
      r.config_updated_at.toISOString(),
      r.plugin_updated_at.toISOString(),
      r.attachments_signature ?? '',
    ].join('|'),
  }
}

/** The files of the plugin version with this content hash (the one a config runs, see PluginConfigRecord). */
export async function loadPluginFiles(pool: Pool, pluginId: number, contentHash: string): Promise<Map<string, Buffer>> {
  const source = await readPluginVersionFiles(pool, pluginId, contentHash)
  if (source === null) throw new Error(`plugin ${pluginId} not found`)
  return new Map(Object.entries(source).map(([path, base64]) => [path, Buffer.from(base64, 'base64')]))
}

export async function loadAttachments(pool: Pool, pluginConfigId: number): Promise<Record<string, PluginAttachment>> {
  const rows = await listPluginAttachments(pool, pluginConfigId)
  return Object.fromEntries(rows.map((r) => [r.key, { content_type: r.content_type, file_name: r.file_name, contents: r.contents }]))
}

/**
 * Secret values of a config: the strings that must never be logged. A value stored sealed is one
 * even when the version in use does not mark its field `secret` (pinned to an older version, or a
 * newer one dropped the flag): it was given as a secret.
 */
export function secretValues(record: PluginConfigRecord): string[] {
  return [...secretKeys(record.pluginJson.config, record.sealedKeys)]
    .map((key) => record.config[key])
    .filter((value): value is string => typeof value === 'string' && value !== '')
}
