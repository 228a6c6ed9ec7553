import { FormField } from '../../components/form-field'
import type { PayloadFieldSpec } from '../../api/types'

interface Props {
  name: string
  spec: PayloadFieldSpec
  value: string
  onValue: (value: string) => void
  error?: string
}

/** One key of a publicJobs payload; every value is kept as text and converted when the job is triggered. */
export function PayloadInput({ name, spec, value, onValue, error }: Props) {
  const id = `job-payload-${name}`
  const common = { id, 'data-testid': id, 'aria-invalid': error ? true : undefined }
  let input
  switch (spec.type) {
    case 'boolean':
      input = <input {...common} type="checkbox" checked={value === 'true'} onChange={(e) => onValue(String(e.currentTarget.checked))} />
      break
    case 'number':
      input = <input {...common} type="number" step="any" value={value} onInput={(e) => onValue(e.currentTarget.value)} />
      break
    case 'date':
      input = <input {...common} type="datetime-local" value={value} onInput={(e) => onValue(e.currentTarget.value)} />
      break
    case 'json':
    case 'object':
    case 'array':
      input = <textarea {...common} rows={4} class="code" value={value} onInput={(e) => onValue(e.currentTarget.value)} />
      break
    default:
      input = <input {...common} type="text" value={value} onInput={(e) => onValue(e.currentTarget.value)} />
  }
  return (
    <FormField
      id={id}
      label={spec.title ?? name}
      fieldKey={name}
      required={spec.required}
      tag={<span class="muted small">{spec.type ?? 'string'}</span>}
      error={error}
      errorTestId={`job-payload-error-${name}`}
    >
      {input}
    </FormField>
  )
}
