import type { ComponentChildren } from 'preact'

interface Props {
  /** The input's id, which the label points at. */
  id: string
  label: string
  fieldKey: string
  required?: boolean
  /** Shown after the key: the payload type, a secret's "set"/"not set" badge. */
  tag?: ComponentChildren
  error?: string
  errorTestId: string
  /** The input, then any help text under it. */
  children: ComponentChildren
}

/** One labelled form field, as plugin configs and job payloads both show them: name, required mark, key, input, error. */
export function FormField({ id, label, fieldKey, required, tag, error, errorTestId, children }: Props) {
  return (
    <div class={`field ${error ? 'field-invalid' : ''}`}>
      <label for={id}>
        {label}
        {required && (
          <span class="required" title="required">
            *
          </span>
        )}
        <code class="field-key">{fieldKey}</code>
        {tag}
      </label>
      {children}
      {error && (
        <p class="field-error" role="alert" id={errorTestId} data-testid={errorTestId}>
          {error}
        </p>
      )}
    </div>
  )
}
