import type { ConfigField, PluginConfigView } from '../../api/types'
import { Markdown } from '../../components/markdown'
import { ConfigFieldInput } from './config-field'
import { canClearSecret, FormMode } from './form-model'

interface Props {
  schema: ConfigField[]
  mode: FormMode
  values: Record<string, string>
  onValue: (key: string, value: string) => void
  onFile: (key: string, file: File | undefined) => void
  errors: Record<string, string>
  existing?: PluginConfigView
  /** Edit only: stored secrets marked to be cleared on save. */
  cleared?: ReadonlySet<string>
  onClear?: (key: string, clear: boolean) => void
}

/** plugin.json `config` in order: inputs for fields, rendered Markdown for text-only entries. */
export function ConfigFields({ schema, mode, values, onValue, onFile, errors, existing, cleared, onClear }: Props) {
  if (schema.length === 0) return <p class="muted">This plugin takes no settings.</p>
  return (
    <div class="fields-list">
      {schema.map((field, i) =>
        typeof field.key === 'string' && field.key !== '' ? (
          <ConfigFieldInput
            key={field.key}
            field={{ ...field, key: field.key }}
            mode={mode}
            value={values[field.key] ?? ''}
            onValue={(value) => onValue(field.key as string, value)}
            onFile={(file) => onFile(field.key as string, file)}
            error={errors[field.key]}
            secretState={existing?.secret_fields[field.key]}
            attachment={existing?.attachments.find((a) => a.key === field.key)}
            clearable={mode === 'edit' && onClear !== undefined && canClearSecret(field, existing)}
            cleared={cleared?.has(field.key) ?? false}
            onClear={(clear) => onClear?.(field.key as string, clear)}
          />
        ) : field.markdown ? (
          <Markdown key={`markdown-${i}`} text={field.markdown} class="markdown-block" testid="markdown-block" />
        ) : null,
      )}
    </div>
  )
}
