import type { PluginConfigDetailRecord } from '@plugin-server/db'
import type { PluginConfigField } from '@plugin-server/plugin-vm'
import { redact, redactValue, secretKeys } from '@plugin-server/secrets'
import { AttachmentView, PluginConfigView, SecretState } from './interfaces'
import { configFields } from './validate-config'

/** A config row as libs/db reads it, with its schema typed and its values opened (see openRow in db-helpers). */
export type PluginConfigRow = PluginConfigDetailRecord<PluginConfigField[]> & {
  /** Keys whose stored value is sealed: secret whatever the schema in use says (see sealedKeys). */
  sealed_keys: string[]
  /** Sealed keys whose value did not open (no key here, or it only looked sealed; still sealed in `config`), each with why. */
  unreadable: Record<string, string>
}

/**
 * Secret fields are write-only: the view says whether each is set, never what it is. A value stored
 * sealed is one of them even when the version in use does not mark its field `secret` (a pin to an
 * older version, or a newer one that dropped the flag). A stored key the schema no longer knows is
 * withheld too, since nothing says whether it was a secret.
 */
export function toConfigView(row: PluginConfigRow, attachments: AttachmentView[]): PluginConfigView {
  const fields = configFields(row.config_schema)
  const secret = secretKeys(row.config_schema, row.sealed_keys)
  const known = new Set(fields.map((f) => f.key as string))
  const config: Record<string, string> = {}
  for (const [key, value] of Object.entries(row.config)) {
    if (known.has(key) && !secret.has(key)) config[key] = value
  }
  const secretFields: Record<string, SecretState> = {}
  // A secret attachment field is set when its file is uploaded (its contents are never in `config`).
  const attached = new Set(attachments.map((a) => a.key))
  for (const key of secret) secretFields[key] = attached.has(key) || (row.config[key] !== undefined && row.config[key] !== '') ? 'set' : 'not set'
  return {
    id: row.id,
    team_id: row.team_id,
    plugin_id: row.plugin_id,
    plugin_name: row.plugin_name,
    plugin_version: row.plugin_version,
    pinned_version: row.pinned_version,
    enabled: row.enabled,
    order: row.order,
    config,
    secret_fields: secretFields,
    attachments,
    error: scrubSecrets(row.error, secretValues(row.config_schema, row.config, row.sealed_keys)),
    disabled_reason: scrubSecrets(row.disabled_reason, secretValues(row.config_schema, row.config, row.sealed_keys)),
    created_at: row.created_at,
    updated_at: row.updated_at,
  }
}

/**
 * The plaintext of a config's secrets (see secretKeys), the strings scrubbed out of what a plugin
 * wrote: every one however short, since a short secret is a secret too (it costs the text around it
 * its copies of those characters).
 */
export function secretValues(schema: readonly PluginConfigField[], config: Record<string, string>, sealed: readonly string[] = []): string[] {
  return [...secretKeys(schema, sealed)].map((key) => config[key]).filter((v): v is string => typeof v === 'string' && v !== '')
}

/**
 * Setup errors and plugin log lines are written by the plugin, which may well print its own API
 * key; whatever we hand out goes through here so a secret never leaves in them either.
 */
export function scrubSecrets<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0 || value === null || value === undefined) return value
  if (typeof value === 'string') return redact(value, secrets, '[secret]') as T
  return redactValue(value, secrets, '[secret]') as T
}
