// The config form without the UI: what the inputs start with, what must be filled, what is sent.
import type { ConfigField, PluginConfigView } from '../../api/types'

export type FormMode = 'create' | 'edit' | 'try'

/** A field of plugin.json `config` that has a key (the others are Markdown blocks). */
export type KeyedField = ConfigField & { key: string }

export function keyedFields(schema: ConfigField[]): KeyedField[] {
  return schema.filter((f): f is KeyedField => typeof f.key === 'string' && f.key !== '')
}

export const isAttachment = (field: ConfigField) => field.type === 'attachment'
export const isSecret = (field: ConfigField) => field.secret === true

/** Text values per key. Secrets always start empty: the API never returns them, and empty means "keep". */
export function initialValues(schema: ConfigField[], mode: FormMode, existing?: PluginConfigView): Record<string, string> {
  const values: Record<string, string> = {}
  for (const field of keyedFields(schema)) {
    if (isAttachment(field) || isSecret(field)) values[field.key] = ''
    else if (mode === 'edit') values[field.key] = existing?.config[field.key] ?? ''
    else values[field.key] = field.default !== undefined ? String(field.default) : ''
  }
  return values
}

/** Required fields left empty, as field key → message; the server checks again. */
export function missingRequired(
  schema: ConfigField[],
  values: Record<string, string>,
  files: Record<string, File>,
  existing?: PluginConfigView,
): Record<string, string> {
  const errors: Record<string, string> = {}
  for (const field of keyedFields(schema)) {
    if (field.required !== true) continue
    const hasDefault = field.default !== undefined && String(field.default) !== ''
    if (isAttachment(field)) {
      if (!files[field.key] && !existing?.attachments.some((a) => a.key === field.key)) errors[field.key] = 'Required: choose a file.'
    } else if ((values[field.key] ?? '').trim() === '' && !hasDefault) {
      if (isSecret(field) && existing?.secret_fields[field.key] === 'set') continue
      errors[field.key] = 'Required.'
    }
  }
  return errors
}

/** The chosen files with `key`'s replaced, or removed when its input was cleared. */
export function withFile(files: Record<string, File>, key: string, file: File | undefined): Record<string, File> {
  const next = { ...files }
  if (file) next[key] = file
  else delete next[key]
  return next
}

/**
 * The `config` to send. Creating sends every filled field, and '' for one whose default the user
 * emptied (the server keeps an optional text field empty, as PostHog did, instead of filling its
 * default in); editing sends the fields whose value changed and secrets only when typed, since an
 * empty secret would erase the stored one.
 */
export function configToSend(schema: ConfigField[], mode: FormMode, values: Record<string, string>, initial: Record<string, string>): Record<string, string> {
  const config: Record<string, string> = {}
  for (const field of keyedFields(schema)) {
    if (isAttachment(field)) continue
    const value = values[field.key] ?? ''
    if (isSecret(field) || mode !== 'edit') {
      const emptiedDefault = !isSecret(field) && value === '' && field.default !== undefined && String(field.default) !== ''
      if (value !== '' || emptiedDefault) config[field.key] = value
    } else if (value !== initial[field.key]) {
      config[field.key] = value
    }
  }
  return config
}

/** A stored secret the form may clear: only an optional one (a required one must be replaced instead). */
export function canClearSecret(field: ConfigField, existing?: PluginConfigView): boolean {
  return isSecret(field) && !isAttachment(field) && field.required !== true && existing?.secret_fields[field.key ?? ''] === 'set'
}

/**
 * The edit's `config` with the secrets the user chose to clear sent as null: the API then removes the
 * stored value (its default comes back, if it has one). The form never holds the value it clears.
 */
export function withClearedSecrets(
  config: Record<string, string>,
  schema: ConfigField[],
  cleared: ReadonlySet<string>,
  existing?: PluginConfigView,
): Record<string, string | null> {
  const out: Record<string, string | null> = { ...config }
  for (const field of keyedFields(schema)) if (cleared.has(field.key) && canClearSecret(field, existing)) out[field.key] = null
  return out
}

/** The form field an API error names (`config.apiKey`, `attachments.file.file_name`, `apiKey`), if it is one of this form's. */
export function fieldOfError(field: string | undefined, schema: ConfigField[]): string | null {
  if (field === undefined) return null
  const parts = field.split('.')
  const key = parts[0] === 'config' || parts[0] === 'attachments' ? parts[1] : parts[0]
  return keyedFields(schema).some((f) => f.key === key) ? key : null
}
