import { useState } from 'preact/hooks'
import { api } from '../../api/endpoints'
import type { PublicJobSpec } from '../../api/types'
import { toApiError } from '../../lib/use-async'
import { buildPayload, PayloadError, payloadFromJson } from './job-payload'
import { PayloadInput } from './payload-input'

interface Props {
  configId: number
  name: string
  spec: PublicJobSpec
  onTriggered: () => void
}

export function JobTriggerForm({ configId, name, spec, onTriggered }: Props) {
  const schema = spec.payload
  const [values, setValues] = useState<Record<string, string>>({})
  const [json, setJson] = useState('{}')
  const [result, setResult] = useState<string | null>(null)
  const [error, setError] = useState<{ key: string | null; message: string } | null>(null)
  const [busy, setBusy] = useState(false)

  const trigger = async (e: Event) => {
    e.preventDefault()
    setResult(null)
    setError(null)
    setBusy(true)
    try {
      const payload = schema ? buildPayload(schema, values) : payloadFromJson(json)
      const job = await api.triggerJob(configId, name, payload)
      setResult(`Job "${job.name}" queued (id ${job.jobId}).`)
      onTriggered()
    } catch (err) {
      if (err instanceof PayloadError) setError({ key: err.key, message: err.message })
      else {
        const apiError = toApiError(err)
        // The API names payload keys as `payload.<key>`.
        const key = apiError.field?.startsWith('payload.') ? apiError.field.slice('payload.'.length) : null
        setError({ key, message: apiError.message })
      }
    } finally {
      setBusy(false)
    }
  }

  return (
    <form class="job-form" onSubmit={trigger} noValidate>
      {schema ? (
        Object.keys(schema).length === 0 ? (
          <p class="muted">This job takes no payload.</p>
        ) : (
          Object.entries(schema).map(([key, fieldSpec]) => (
            <PayloadInput
              key={key}
              name={key}
              spec={fieldSpec}
              value={values[key] ?? ''}
              onValue={(value) => setValues((v) => ({ ...v, [key]: value }))}
              error={error?.key === key ? error.message : undefined}
            />
          ))
        )
      ) : (
        <div class="field">
          <label for="job-payload-json">Payload (JSON object; the job declares no schema)</label>
          <textarea id="job-payload-json" class="code" rows={5} value={json} onInput={(e) => setJson(e.currentTarget.value)} data-testid="job-payload-json" />
        </div>
      )}
      {error && (
        <p class="message message-error" role="alert" data-testid="job-error">
          {error.message}
        </p>
      )}
      <div class="form-actions">
        <button type="submit" class="primary" disabled={busy} data-testid="job-trigger">
          {busy ? 'Triggering…' : `Trigger ${name}`}
        </button>
        {result && (
          <span class="message-inline message-ok" role="status" data-testid="job-trigger-result">
            {result}
          </span>
        )}
      </div>
    </form>
  )
}
