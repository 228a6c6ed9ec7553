import type { PluginConfigField } from '@plugin-server/plugin-vm'
import { ConfigInputValue, ManagementError } from './interfaces'

export interface ConfigValidationInput {
  pluginName: string
  schema: readonly PluginConfigField[]
  /** Values already stored (an update); empty for a new config. */
  stored: Record<string, string>
  /** Values being written; null or '' clears a field. */
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
    if (value === null || value === '') {
      delete config[key]
      continue
    }
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
    if (config[key] === undefined && field.default !== undefined && field.default !== null && String(field.default) !== '') {
      config[key] = String(field.default)
    }
    if (field.required === true && config[key] === undefined) throw invalid(pluginName, key, 'is required')
  }
  return config
}

export function assertAttachmentField(pluginName: string, schema: readonly PluginConfigField[], key: string): void {
  const field = configFields(schema).find((f) => f.key === key)
  if (!field) throw invalid(pluginName, key, 'does not exist in plugin.json')
  if (field.type !== 'attachment') throw invalid(pluginName, key, 'is not an attachment field')
}
