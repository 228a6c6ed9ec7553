import { PluginConfigField, PluginJson } from '../interfaces'
import { PluginLoadError } from '../errors'

/** As @posthog/plugin-scaffold declares them. A json field's value reaches the plugin as the text typed, as in PostHog. */
const FIELD_TYPES = ['string', 'json', 'attachment', 'choice']
const STRING_KEYS = ['markdown', 'key', 'name', 'hint'] as const
const BOOLEAN_KEYS = ['required', 'secret'] as const

function fail(path: string, problem: string): never {
  throw new PluginLoadError(`plugin.json: ${path} ${problem}`)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function validateField(raw: unknown, at: string): PluginConfigField {
  if (!isRecord(raw)) fail(at, 'must be an object')
  for (const key of STRING_KEYS) {
    if (raw[key] !== undefined && typeof raw[key] !== 'string') fail(`${at}.${key}`, 'must be a string')
  }
  for (const key of BOOLEAN_KEYS) {
    if (raw[key] !== undefined && typeof raw[key] !== 'boolean') fail(`${at}.${key}`, 'must be a boolean')
  }
  if (raw.type !== undefined && !FIELD_TYPES.includes(raw.type as string)) {
    fail(`${at}.type`, `must be one of ${FIELD_TYPES.join(', ')} (got ${JSON.stringify(raw.type)})`)
  }
  // PostHog stores defaults as strings but real plugins ship numbers/booleans; accept scalars.
  if (raw.default !== undefined && raw.default !== null && typeof raw.default === 'object') {
    fail(`${at}.default`, 'must be a string')
  }
  if (raw.order !== undefined && typeof raw.order !== 'number') fail(`${at}.order`, 'must be a number')
  if (raw.choices !== undefined) {
    if (!Array.isArray(raw.choices) || raw.choices.some((c) => typeof c !== 'string')) {
      fail(`${at}.choices`, 'must be an array of strings')
    }
  }
  if (raw.type === 'choice' && !Array.isArray(raw.choices)) fail(`${at}.choices`, 'is required when type is "choice"')
  if (raw.markdown === undefined && raw.key === undefined) fail(`${at}.key`, 'is required (or give a markdown block)')
  // Every object has these already: a required `constructor` passed with no value given, and a `__proto__` value was dropped.
  if (typeof raw.key === 'string' && raw.key in Object.prototype)
    fail(`${at}.key`, `${JSON.stringify(raw.key)} is a name every JavaScript object has: choose another`)
  return raw as PluginConfigField
}

/** Validates a parsed plugin.json; errors name the offending field. Unknown keys are kept. */
export function validatePluginJson(raw: unknown): PluginJson {
  if (!isRecord(raw)) fail('(root)', 'must be a JSON object')
  if (typeof raw.name !== 'string' || raw.name.trim() === '') fail('name', 'is required and must be a non-empty string')
  for (const key of ['main', 'url', 'description']) {
    if (raw[key] !== undefined && typeof raw[key] !== 'string') fail(key, 'must be a string')
  }
  if (raw.config !== undefined && !Array.isArray(raw.config) && !isRecord(raw.config)) fail('config', 'must be an array (or an object of fields by key)')
  const config = isRecord(raw.config)
    ? fieldsByKey(raw.config)
    : ((raw.config as unknown[] | undefined) ?? []).map((field, i) => validateField(field, `config[${i}]`))
  return { ...raw, name: raw.name, config } as PluginJson
}

/**
 * The older form of `config`, an object of fields by key, which PostHog's tooling still reads
 * (maxmind 0.0.2 has it): each field with its key, in `order` (those without one last, in the
 * object's order), as PostHog's getConfigSchemaArray gives them.
 */
function fieldsByKey(config: Record<string, unknown>): PluginConfigField[] {
  const fields = Object.entries(config).map(([key, value]) => validateField(isRecord(value) ? { key, ...value } : value, `config.${key}`))
  const rank = (field: PluginConfigField) => (typeof field.order === 'number' && field.order !== 0 ? field.order : 999_999)
  return fields
    .map((field, i) => ({ field, i }))
    .sort((a, b) => rank(a.field) - rank(b.field) || a.i - b.i)
    .map(({ field }) => field)
}

/**
 * plugin.json's most: every worker keeps each version's parsed, and the API lists a page of them
 * (PostHog's run to a few KB; 600 000 config fields were 45 MB, 1.6 MB as gzip).
 */
export const MAX_PLUGIN_JSON_BYTES = 1024 * 1024

export function parsePluginJson(text: string): PluginJson {
  if (Buffer.byteLength(text) > MAX_PLUGIN_JSON_BYTES) throw new PluginLoadError(`plugin.json: is larger than ${MAX_PLUGIN_JSON_BYTES} bytes`)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new PluginLoadError(`plugin.json: is not valid JSON (${(error as Error).message})`)
  }
  return validatePluginJson(parsed)
}
