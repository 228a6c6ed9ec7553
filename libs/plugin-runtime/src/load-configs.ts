import type { PluginAttachment, PluginJson } from '@plugin-server/plugin-vm'
import {
  ConfigRunScope,
  EnabledConfigRunRecord,
  listAttachmentContents,
  listEnabledConfigRuns,
  listPluginAttachments,
  listPluginVersionJsons,
  PluginVersionKey,
  readPluginVersionFiles,
  versionKey,
} from '@plugin-server/db'
import { createHash } from 'node:crypto'
import type { Pool } from 'pg'
import { attachmentSecrets, openSecretFields, SecretBox, sealedKeys, secretAttachmentKeys, secretKeys } from '@plugin-server/secrets'

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
  sealedKeys: readonly string[]
  /** Shared, frozen, by every config of the version. */
  pluginJson: Readonly<PluginJson>
  /**
   * Whether the config had attachments when read. Without any, loading it reads nothing more from
   * Postgres (1 000 configs loading at once were 1 000 queries); adding one changes `signature`, so
   * the config is reloaded and reads them.
   */
  hasAttachments: boolean
  /** The strings of its secret attachments that must never be logged (attachmentSecrets), with its secret values. */
  attachmentSecrets: readonly string[]
  /** Changes whenever the config, its attachments or its plugin change: what reloads compare. */
  signature: string
}

type ConfigRow = EnabledConfigRunRecord

/** Which configs a re-read covers: those with one of these ids, or of one of these teams or plugins. */
export type ConfigScope = ConfigRunScope

export interface LoadConfigsOptions {
  /** Only the enabled configs of this scope; all of them without it. */
  scope?: ConfigScope | null
  /** Opens secret values sealed at rest; without it sealed values cannot be read. */
  secrets?: SecretBox
  /**
   * A config whose secrets do not decrypt (its key was removed from PLUGIN_SECRETS_KEYS) is left out
   * and reported here, so one stale config cannot stop every other config from loading.
   */
  onUnreadable?: (configId: number, message: string) => void
  /**
   * A config whose plugin version has no stored plugin.json (its plugin deleted between the read's
   * two queries, or a row lost) is left out and reported here: a failed read would have stopped every
   * other config's reloads in the process, and failed its readiness, until the row came back.
   */
  onVersionMissing?: (configId: number, message: string) => void
  /** Keeps the plugin.json of versions read before, so a re-read reads only those it has not seen. */
  pluginJsons?: PluginJsonCache
  /** Keeps the secrets of secret attachments read before, so a re-read reads only those that changed. */
  attachmentSecrets?: AttachmentSecretsCache
}

/**
 * The secrets of each config's secret attachments (plugin.json attachment fields marked `secret`),
 * read again only when the config's attachments change (its attachments signature): a worker's
 * re-read every reconcile reads no attachment it has read.
 */
export class AttachmentSecretsCache {
  private known = new Map<number, { signature: string; secrets: readonly string[] }>()

  /** For each row with secret attachment fields and attachments, its secrets: those not known yet in one query. */
  async read(pool: Pool, rows: readonly { row: ConfigRow; keys: readonly string[] }[]): Promise<Map<number, readonly string[]>> {
    // Keyed by the attachments and by which fields are secret: a version marking another field secret reads them again.
    const signatureOf = ({ row, keys }: { row: ConfigRow; keys: readonly string[] }) => `${row.attachments_signature ?? ''}|${keys.join(',')}`
    const missing = rows.filter((entry) => this.known.get(entry.row.id)?.signature !== signatureOf(entry))
    if (missing.length > 0) {
      const wanted = missing.flatMap(({ row, keys }) => keys.map((key) => ({ pluginConfigId: row.id, key })))
      const found = new Map<number, string[]>(missing.map(({ row }) => [row.id, []]))
      for (const { plugin_config_id, contents } of await listAttachmentContents(pool, wanted)) found.get(plugin_config_id)?.push(...attachmentSecrets(contents))
      for (const entry of missing) this.known.set(entry.row.id, { signature: signatureOf(entry), secrets: found.get(entry.row.id) ?? [] })
    }
    return new Map(rows.map(({ row }) => [row.id, this.known.get(row.id)?.secrets ?? []]))
  }

  /** Forgets configs no longer read (after a read of every config). */
  retain(records: readonly PluginConfigRecord[]): void {
    const ids = new Set(records.map((r) => r.id))
    for (const id of this.known.keys()) if (!ids.has(id)) this.known.delete(id)
  }
}

/**
 * Each plugin version's plugin.json, read once and shared, frozen, by every config running it:
 * 20 000 configs of 50 plugins had parsed their own copy each (270 MB of heap per process).
 */
export class PluginJsonCache {
  private known = new Map<string, PluginJson>()

  /** The plugin.json of each of these versions, by versionKey: those not known yet in one query. */
  async read(pool: Pool, versions: readonly PluginVersionKey[]): Promise<Map<string, PluginJson>> {
    const missing = new Map(versions.filter((v) => !this.known.has(versionKey(v))).map((v) => [versionKey(v), v]))
    if (missing.size > 0) for (const [key, json] of await listPluginVersionJsons<PluginJson>(pool, [...missing.values()])) this.known.set(key, deepFreeze(json))
    const found = new Map<string, PluginJson>()
    for (const v of versions) {
      const json = this.known.get(versionKey(v))
      if (json) found.set(versionKey(v), json)
    }
    return found
  }

  /** Forgets the versions no config runs any more (after a read of every config). */
  retain(records: readonly PluginConfigRecord[]): void {
    const running = new Set(records.map((r) => versionKey({ pluginId: r.pluginId, version: r.pluginVersion })))
    for (const key of this.known.keys()) if (!running.has(key)) this.known.delete(key)
  }
}

/** Enabled configs (all teams, or those of the scope), in processEvent order, secrets decrypted. */
export async function loadEnabledConfigs(pool: Pool, filter: LoadConfigsOptions = {}): Promise<PluginConfigRecord[]> {
  const rows = await listEnabledConfigRuns(pool, filter.scope ?? null)
  const versions = new Map(rows.map((r) => [versionKey({ pluginId: r.plugin_id, version: r.version }), { pluginId: r.plugin_id, version: r.version }]))
  const jsons = await (filter.pluginJsons ?? new PluginJsonCache()).read(pool, [...versions.values()])
  const box = filter.secrets ?? new SecretBox([])
  const shared = new Interned()
  const withSecretFiles = rows.flatMap((row) => {
    const keys = secretAttachmentKeys(jsons.get(versionKey({ pluginId: row.plugin_id, version: row.version }))?.config ?? [])
    return keys.length > 0 && row.attachments_signature !== null ? [{ row, keys }] : []
  })
  const fileSecrets = await (filter.attachmentSecrets ?? new AttachmentSecretsCache()).read(pool, withSecretFiles)
  const records: PluginConfigRecord[] = []
  for (const r of rows) {
    const pluginJson = jsons.get(versionKey({ pluginId: r.plugin_id, version: r.version }))
    // Every version has its row (installs write it; migration 0008 wrote those of older plugins).
    if (!pluginJson) {
      filter.onVersionMissing?.(r.id, `plugin ${r.name} (id ${r.plugin_id}) has no version ${r.version} in plugin_versions, which plugin config ${r.id} runs`)
      continue
    }
    let config: Record<string, unknown>
    try {
      config = openSecretFields(r.config, box, { teamId: r.team_id, pluginId: r.plugin_id })
    } catch (err) {
      filter.onUnreadable?.(r.id, (err as Error).message)
      continue
    }
    records.push(toRecord(r, config, sealedKeys(r.config), pluginJson, shared, fileSecrets.get(r.id) ?? NONE_SEALED))
  }
  return records
}

const NONE_SEALED: readonly string[] = Object.freeze([])

/** One string object for each distinct plugin name, content hash and team token of a read, instead of one per row. */
class Interned {
  private readonly strings = new Map<string, string>()
  of(value: string): string {
    const known = this.strings.get(value)
    if (known !== undefined) return known
    this.strings.set(value, value)
    return value
  }
}

function toRecord(
  r: ConfigRow,
  config: Record<string, unknown>,
  sealed: string[],
  pluginJson: Readonly<PluginJson>,
  shared: Interned,
  fileSecrets: readonly string[],
): PluginConfigRecord {
  // Hashed: the signature is compared and may be printed, and it is computed over plaintext so that
  // re-encrypting (secrets rotate) does not look like a change and reload every plugin. One hash of
  // everything: what is kept per config is 64 characters, not the parts.
  const signature = createHash('sha256')
    .update([r.content_hash, r.version, r.order, r.config_updated_at.toISOString(), r.plugin_updated_at.toISOString(), r.attachments_signature ?? ''].join('|'))
    .update('|')
    .update(JSON.stringify(config))
    .digest('hex')
  return {
    id: r.id,
    teamId: r.team_id,
    teamApiToken: shared.of(r.api_token),
    pluginId: r.plugin_id,
    pluginName: shared.of(r.name),
    pluginVersion: r.version,
    pinnedVersion: r.pinned_version,
    contentHash: shared.of(r.content_hash),
    order: r.order,
    config,
    sealedKeys: sealed.length === 0 ? NONE_SEALED : sealed,
    pluginJson,
    hasAttachments: r.attachments_signature !== null,
    attachmentSecrets: fileSecrets,
    signature,
  }
}

/** Shared by every config of the version: nothing may change it (a change would be every config's). */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
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
export function secretValues(record: PluginConfigRecord): readonly string[] {
  let secrets = secretsOf.get(record)
  if (!secrets) {
    secrets = [
      ...[...secretKeys(record.pluginJson.config, record.sealedKeys)]
        .map((key) => record.config[key])
        .filter((value): value is string => typeof value === 'string' && value !== ''),
      ...record.attachmentSecrets,
    ]
    secretsOf.set(record, secrets)
  }
  return secrets
}

/**
 * One list per record (a read makes new ones), so every caller passes `redact` the same array and
 * its forms (secretForms) are worked out once: the log writer's target, each failed call, each delivery.
 */
const secretsOf = new WeakMap<PluginConfigRecord, readonly string[]>()
