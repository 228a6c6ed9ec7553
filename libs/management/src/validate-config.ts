import type { PluginConfigField } from '@plugin-server/plugin-vm'
import { SEALED_PREFIX } from '@plugin-server/secrets'
import { ConfigInputValue, ManagementError } from './interfaces'
import { unstorableText } from './storable-text'

/**
 * Every worker holds every enabled config and re-reads them all every 30 s, so values are capped.
 * 64 KiB fits a json field of mappings (PostHog's property-filter, taxonomy or schema plugins use a
 * few KiB) many times over; files belong in attachments. UTF-8 bytes of the plaintext.
 */
export const MAX_CONFIG_VALUE_BYTES = 64 * 1024
/** All of a config's values together (UTF-8 bytes): eight values at the per-value limit. */
export const MAX_CONFIG_BYTES = 512 * 1024

export interface ConfigValidationInput {
  pluginName: string
  schema: readonly PluginConfigField[]
  /** Values already stored (an update); empty for a new config. */
  stored: Record<string, string>
  /** Values being written; null clears a field (its default comes back), '' empties an optional text field and clears any other. */
  given: Record<string, ConfigInputValue>
  /** Attachment keys the config will have: stored ones plus those being uploaded. */
  attachmentKeys: ReadonlySet<string>
  /** Keys being uploaded now; each must be an attachment field. */
  uploadKeys: readonly string[]
}

/** Markdown blocks carry no key: they are text for a UI, not configuration. */
export function configFields(schema: readonly PluginConfigField[]): PluginConfigField[] {
  return schema.filter((field) => typeof field.key === 'string' && field.key !== '')
}

export function isSecretField(field: PluginConfigField): boolean {
  return field.secret === true
}

/**
 * An optional text field given as '' keeps '', as PostHog stored it: its defaults only pre-fill the
 * form, and plugins read '' as "none" — PostHog's BigQuery plugin exports `$autocapture` only when
 * "events to ignore" (default `$feature_flag_called,$autocapture`) is emptied, and a default filled
 * back in skipped those events without a word. A choice cannot be '', a required field must be
 * filled, and an empty secret is no secret: for those '' clears, and the default (if any) comes back.
 */
function keepsEmpty(field: PluginConfigField): boolean {
  return (field.type === undefined || field.type === 'string' || field.type === 'json') && field.required !== true && !isSecretField(field)
}

function invalid(pluginName: string, key: string, problem: string): ManagementError {
  return new ManagementError('validation_error', `plugin ${JSON.stringify(pluginName)}: config field ${JSON.stringify(key)} ${problem}`, key)
}

function asText(pluginName: string, key: string, value: ConfigInputValue): string | null {
  if (value === null) return null
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value)
  throw invalid(pluginName, key, 'must be a string')
}

/**
 * Checks a config against plugin.json and returns what is stored: the merge of stored and given
 * values with defaults filled in. Attachments are stored apart, so attachment keys never appear in
 * the result. Messages name the field and never contain the value of a secret field.
 */
export function validateConfig(input: ConfigValidationInput): Record<string, string> {
  const { pluginName } = input
  const fields = new Map(configFields(input.schema).map((field) => [field.key as string, field]))
  for (const key of input.uploadKeys) assertAttachmentField(pluginName, input.schema, key)
  const config: Record<string, string> = {}
  // A field dropped from plugin.json by a newer version is dropped from the config too.
  for (const [key, value] of Object.entries(input.stored)) {
    const field = fields.get(key)
    if (field && field.type !== 'attachment') config[key] = value
  }
  for (const [key, raw] of Object.entries(input.given)) {
    const field = fields.get(key)
    if (!field) throw invalid(pluginName, key, 'does not exist in plugin.json')
    if (field.type === 'attachment') throw invalid(pluginName, key, 'is an attachment: upload a file instead of giving a value')
    const value = asText(pluginName, key, raw)
    if (value === null || (value === '' && !keepsEmpty(field))) {
      delete config[key]
      continue
    }
    if (value === '') {
      config[key] = value
      continue
    }
    assertStorable(pluginName, key, value)
    if (field.type === 'json') assertJson(pluginName, key, value, isSecretField(field))
    if (field.type === 'choice') {
      const choices = field.choices ?? []
      if (!choices.includes(value)) {
        const allowed = `must be one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`
        throw invalid(pluginName, key, isSecretField(field) ? allowed : `${allowed} (got ${JSON.stringify(value)})`)
      }
    }
    config[key] = value
  }
  for (const [key, field] of fields) {
    if (field.type === 'attachment') {
      if (field.required === true && !input.attachmentKeys.has(key)) throw invalid(pluginName, key, 'is required: upload an attachment for it')
      continue
    }
    // A default of '' is filled in too where '' can be stored, as PostHog's form saved it: PostHog's
    // Snowflake plugin calls `config.bucketPath.startsWith(…)` on its optional field (default "").
    const fallback = field.default === undefined || field.default === null ? undefined : String(field.default)
    if (config[key] === undefined && fallback !== undefined && (fallback !== '' || keepsEmpty(field))) config[key] = fallback
    if (field.required === true && config[key] === undefined) throw invalid(pluginName, key, 'is required')
  }
  assertConfigSize(pluginName, config)
  return config
}

/**
 * Stored and given to the plugin as the text typed, as PostHog does (its plugins JSON.parse it);
 * checked here so a typo is refused when saved rather than failing the plugin's setupPlugin later.
 */
function assertJson(pluginName: string, key: string, value: string, secret: boolean): void {
  try {
    JSON.parse(value)
  } catch (error) {
    // The parser's message quotes the text around the mistake: not for a secret field.
    throw invalid(pluginName, key, secret ? 'must be valid JSON' : `must be valid JSON (${(error as Error).message})`)
  }
}

/**
 * A plugin.json's defaults are stored as values are when a config is made: refused at install, as a
 * value would be, naming the field (a default of 100 KB, or one that looks like a sealed secret,
 * went into every config made after).
 */
export function assertStorableDefaults(schema: readonly PluginConfigField[]): void {
  for (const field of configFields(schema)) {
    if (field.type === 'attachment' || field.default === undefined || field.default === null) continue
    const problem = storableProblem(String(field.default))
    if (problem) throw new ManagementError('invalid_plugin', `plugin.json: the default of config field ${JSON.stringify(field.key)} ${problem}`, 'config')
  }
}

/** A given value Postgres can store, within the limit, and not one that would pass for a sealed secret. */
function assertStorable(pluginName: string, key: string, value: string): void {
  const problem = storableProblem(value)
  if (problem) throw invalid(pluginName, key, problem)
}

/** Why a value may not be stored as a config value, or null. */
function storableProblem(value: string): string | null {
  const unstorable = unstorableText(value)
  if (unstorable) return unstorable
  // Stored, it would be taken for a secret sealed at rest: views would hide it and `secrets rotate` would try to open it.
  if (value.startsWith(SEALED_PREFIX)) return `must not begin with ${JSON.stringify(SEALED_PREFIX)}, the prefix of secrets sealed at rest`
  const bytes = Buffer.byteLength(value, 'utf8')
  if (bytes > MAX_CONFIG_VALUE_BYTES) {
    return `is ${bytes} bytes, over the limit of ${MAX_CONFIG_VALUE_BYTES} bytes per value (MAX_CONFIG_VALUE_BYTES); put large data in an attachment field`
  }
  return null
}

function assertConfigSize(pluginName: string, config: Record<string, string>): void {
  const sizes = Object.entries(config).map(([key, value]) => [key, Buffer.byteLength(value, 'utf8')] as const)
  const total = sizes.reduce((sum, [, bytes]) => sum + bytes, 0)
  if (total <= MAX_CONFIG_BYTES) return
  const [largest, largestBytes] = sizes.reduce((a, b) => (b[1] > a[1] ? b : a))
  throw new ManagementError(
    'validation_error',
    `plugin ${JSON.stringify(pluginName)}: config values are ${total} bytes together, over the limit of ${MAX_CONFIG_BYTES} bytes (MAX_CONFIG_BYTES); the largest is config field ${JSON.stringify(largest)} (${largestBytes} bytes)`,
    largest,
  )
}

export function assertAttachmentField(pluginName: string, schema: readonly PluginConfigField[], key: string): void {
  const field = configFields(schema).find((f) => f.key === key)
  if (!field) throw invalid(pluginName, key, 'does not exist in plugin.json')
  if (field.type !== 'attachment') throw invalid(pluginName, key, 'is not an attachment field')
}
