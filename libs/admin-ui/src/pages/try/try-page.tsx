import { useState } from 'preact/hooks'
import { api } from '../../api/endpoints'
import type { TryResult } from '../../api/types'
import { ErrorMessage } from '../../components/error-message'
import { Loading } from '../../components/loading'
import { asNewAttachments } from '../../lib/files'
import { prettyJson } from '../../lib/format'
import { toApiError, useAsync } from '../../lib/use-async'
import { ConfigFields } from '../configs/config-fields'
import { fieldOfError, initialValues, missingRequired, withFile } from '../configs/form-model'
import { samples } from './samples'
import { TryResultView } from './try-result'
import { parseEvent, targetFromOption } from './try-target'

interface Props {
  teamId: number
  initialConfigId: string | null
}

/** Runs one event in a sandbox that performs no writes: see what a config, a plugin or the whole chain would do to it. */
export function TryPage({ teamId, initialConfigId }: Props) {
  const data = useAsync(async () => {
    const [configs, plugins] = await Promise.all([api.configs(teamId), api.plugins()])
    return { configs, plugins }
  }, [teamId])
  const [eventText, setEventText] = useState(() => prettyJson(samples()[0].event))
  const [target, setTarget] = useState(initialConfigId ? `config:${initialConfigId}` : 'chain')
  const [values, setValues] = useState<Record<string, string>>({})
  const [files, setFiles] = useState<Record<string, File>>({})
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({})
  const [result, setResult] = useState<TryResult | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  if (data.data === undefined) return data.error ? <ErrorMessage error={data.error} /> : <Loading />
  const { configs, plugins } = data.data
  const configured = new Set(configs.map((c) => c.plugin_id))
  const unconfigured = plugins.filter((p) => !configured.has(p.id))
  const targetPlugin = target.startsWith('plugin:') ? plugins.find((p) => `plugin:${p.id}` === target) : undefined
  const schema = targetPlugin?.config_schema ?? []

  const pickTarget = (option: string) => {
    setTarget(option)
    const plugin = plugins.find((p) => `plugin:${p.id}` === option)
    setValues(plugin ? initialValues(plugin.config_schema, 'try') : {})
    setFiles({})
    setFieldErrors({})
  }

  const run = async () => {
    setError(null)
    setResult(null)
    const event = parseEvent(eventText)
    if (typeof event === 'string') return setError(event)
    const missing = targetPlugin ? missingRequired(schema, values, files) : {}
    setFieldErrors(missing)
    if (Object.keys(missing).length > 0) return setError('Fill in the required settings of the plugin.')
    setBusy(true)
    try {
      const attachments = targetPlugin ? await asNewAttachments(files) : {}
      setResult(await api.tryEvent(teamId, event, targetFromOption(target, schema, values, attachments)))
    } catch (err) {
      const apiError = toApiError(err)
      const key = targetPlugin ? fieldOfError(apiError.field, schema) : null
      if (key !== null) setFieldErrors({ [key]: apiError.message })
      setError(apiError.field ? `${apiError.field}: ${apiError.message}` : apiError.message)
    } finally {
      setBusy(false)
    }
  }

  return (
    <section>
      <div class="page-head">
        <h1>Try it</h1>
        <p class="muted">
          Runs an event through plugins without side effects: cache, storage and GeoIP reads are answered; writes, captures, jobs and metrics are only recorded;
          fetch sends GET and HEAD requests only.
        </p>
      </div>
      <div class="try-grid">
        <div class="card">
          <div class="card-head">
            <label for="try-event">
              <strong>Event</strong>
            </label>
            <span class="samples">
              {samples().map((sample) => (
                <button
                  key={sample.name}
                  type="button"
                  class="small"
                  onClick={() => setEventText(prettyJson(sample.event))}
                  data-testid={`try-sample-${sample.name}`}
                >
                  {sample.label}
                </button>
              ))}
            </span>
          </div>
          <textarea
            id="try-event"
            class="code"
            rows={16}
            spellcheck={false}
            value={eventText}
            onInput={(e) => setEventText(e.currentTarget.value)}
            data-testid="try-event"
          />
        </div>
        <div class="card">
          <label for="try-target">
            <strong>Run it through</strong>
          </label>
          <select id="try-target" value={target} onChange={(e) => pickTarget(e.currentTarget.value)} data-testid="try-target">
            <option value="chain">The whole chain (every enabled config, in order)</option>
            {configs.length > 0 && (
              <optgroup label="A config of this team">
                {configs.map((c) => (
                  <option key={c.id} value={`config:${c.id}`}>
                    {c.plugin_name} (config #{c.id}
                    {c.enabled ? '' : ', disabled'})
                  </option>
                ))}
              </optgroup>
            )}
            {unconfigured.length > 0 && (
              <optgroup label="A plugin not configured yet">
                {unconfigured.map((p) => (
                  <option key={p.id} value={`plugin:${p.id}`}>
                    {p.name}
                  </option>
                ))}
              </optgroup>
            )}
          </select>
          {targetPlugin && (
            // Keyed by the target: another plugin's form starts with empty file inputs, as its state does.
            <div class="try-settings" key={target}>
              <h3>Settings for this run</h3>
              <ConfigFields
                schema={schema}
                mode="try"
                values={values}
                errors={fieldErrors}
                onValue={(key, value) => setValues((v) => ({ ...v, [key]: value }))}
                onFile={(key, file) => setFiles((f) => withFile(f, key, file))}
              />
            </div>
          )}
          <div class="form-actions">
            <button type="button" class="primary" disabled={busy} onClick={() => void run()} data-testid="try-run">
              {busy ? 'Running…' : 'Run'}
            </button>
          </div>
          {error && (
            <p class="message message-error" role="alert" data-testid="try-error">
              {error}
            </p>
          )}
        </div>
      </div>
      {result && <TryResultView result={result} />}
    </section>
  )
}
