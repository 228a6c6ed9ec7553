import type { AttachmentView, SecretState } from '../../api/types'
import { Badge } from '../../components/badge'
import { FormField } from '../../components/form-field'
import { Markdown } from '../../components/markdown'
import { formatBytes } from '../../lib/format'
import { FormMode, isAttachment, isSecret, KeyedField } from './form-model'

interface Props {
  field: KeyedField
  mode: FormMode
  value: string
  onValue: (value: string) => void
  onFile: (file: File | undefined) => void
  error?: string
  /** Edit only: whether the stored config has this secret. */
  secretState?: SecretState
  /** Edit only: the stored attachment for this key. */
  attachment?: AttachmentView
  /** Edit only: a stored optional secret, which may be cleared. */
  clearable?: boolean
  /** Marked to be cleared on save. */
  cleared?: boolean
  onClear?: (clear: boolean) => void
}

/** One plugin.json field: a text input, a textarea for json, a select of `choices`, a file input, or a password input for a secret. */
export function ConfigFieldInput({ field, mode, value, onValue, onFile, error, secretState, attachment, clearable, cleared, onClear }: Props) {
  const { key } = field
  const id = `field-${key}`
  const common = {
    id,
    name: key,
    'data-testid': id,
    'aria-invalid': error ? true : undefined,
    // The error (its element's id is its test id, see FormField) and the hint describe the input.
    'aria-describedby': [error ? `field-error-${key}` : '', field.hint ? `field-hint-${key}` : ''].filter(Boolean).join(' ') || undefined,
  }
  // Only a secret shows its default as a placeholder: a text field emptied stays empty (the server
  // keeps '' as PostHog did), so a default shown in it would promise what is not stored.
  const placeholder = isSecret(field) && field.default !== undefined && field.default !== '' ? String(field.default) : undefined

  let input
  if (isAttachment(field)) {
    input = <input {...common} type="file" onChange={(e) => onFile(e.currentTarget.files?.[0])} />
  } else if (field.type === 'choice') {
    input = (
      <select {...common} value={value} disabled={cleared} onChange={(e) => onValue(e.currentTarget.value)}>
        {(value === '' || field.required !== true) && <option value="">{field.required ? 'Choose…' : '—'}</option>}
        {(field.choices ?? []).map((choice) => (
          <option key={choice} value={choice}>
            {choice}
          </option>
        ))}
      </select>
    )
  } else if (isSecret(field)) {
    input = (
      <input
        {...common}
        type="password"
        autocomplete="new-password"
        value={value}
        disabled={cleared}
        placeholder={cleared ? 'cleared on save' : mode === 'edit' && secretState === 'set' ? 'leave empty to keep the stored value' : placeholder}
        onInput={(e) => onValue(e.currentTarget.value)}
      />
    )
  } else if (field.type === 'json') {
    // JSON is written over several lines; the server says where it does not parse.
    input = <textarea {...common} rows={6} spellcheck={false} value={value} placeholder={placeholder} onInput={(e) => onValue(e.currentTarget.value)} />
  } else {
    input = <input {...common} type="text" value={value} placeholder={placeholder} onInput={(e) => onValue(e.currentTarget.value)} />
  }

  return (
    <FormField
      id={id}
      label={field.name ?? key}
      fieldKey={key}
      required={field.required}
      tag={isSecret(field) && mode !== 'try' && <Badge state={secretState ?? 'not set'} testid={`field-secret-state-${key}`} />}
      error={error}
      errorTestId={`field-error-${key}`}
    >
      {input}
      {clearable && (
        <p class="help" data-testid={`field-clear-state-${key}`}>
          {cleared ? (
            <>
              The stored value is removed when you save{field.default !== undefined && field.default !== '' ? ' (its default comes back)' : ''}.{' '}
              <button type="button" class="small" onClick={() => onClear?.(false)} data-testid={`field-keep-${key}`}>
                Keep it
              </button>
            </>
          ) : (
            <button type="button" class="small" onClick={() => onClear?.(true)} data-testid={`field-clear-${key}`}>
              Clear stored value
            </button>
          )}
        </p>
      )}
      {attachment && (
        <p class="help" data-testid={`field-attachment-${key}`}>
          Stored: {attachment.file_name} ({attachment.content_type}, {formatBytes(attachment.size)}). Choose a file to replace it.
        </p>
      )}
      {field.hint && <Markdown text={field.hint} class="help" testid={`field-hint-${key}`} id={`field-hint-${key}`} />}
    </FormField>
  )
}
