import { useRef, useState } from 'preact/hooks'
import type { ApiError } from '../../api/client'
import { api } from '../../api/endpoints'
import type { ConfigField, PluginConfigView } from '../../api/types'
import { ErrorMessage } from '../../components/error-message'
import { asNewAttachments } from '../../lib/files'
import { toApiError } from '../../lib/use-async'
import { ConfigFields } from './config-fields'
import { configToSend, fieldOfError, initialValues, missingRequired, withClearedSecrets, withFile } from './form-model'

/** `pinnedVersion`: create the config pinned to that stored version (absent or null: it follows the current one). */
type Target = { kind: 'create'; teamId: number; pluginId: number; pinnedVersion?: number | null } | { kind: 'edit'; config: PluginConfigView }

interface Props {
  schema: ConfigField[]
  target: Target
  onSaved: (view: PluginConfigView) => void
  /** Shown as saved from the start (a config just created, then opened). */
  savedMessage?: string
}

/** Creates a config (one POST, attachments inline) or edits one (PATCH, then one PUT per new attachment). */
export function ConfigForm({ schema, target, onSaved, savedMessage }: Props) {
  const mode = target.kind
  const existing = target.kind === 'edit' ? target.config : undefined
  const [initial, setInitial] = useState(() => initialValues(schema, mode, existing))
  const [values, setValues] = useState(initial)
  const [files, setFiles] = useState<Record<string, File>>({})
  // Stored optional secrets to remove on save (sent as null); their values never reach the browser.
  const [cleared, setCleared] = useState<ReadonlySet<string>>(new Set())
  const [enabled, setEnabled] = useState(false)
  const [errors, setErrors] = useState<Record<string, string>>({})
  const [formError, setFormError] = useState<ApiError | null>(null)
  const [saved, setSaved] = useState<string | null>(savedMessage ?? null)
  const [busy, setBusy] = useState(false)
  const formRef = useRef<HTMLFormElement>(null)

  const edited = () => {
    setSaved(null)
    setFormError(null)
  }

  const save = async (): Promise<PluginConfigView> => {
    const config = configToSend(schema, mode, values, initial)
    if (target.kind === 'create') {
      const attachments = Object.keys(files).length > 0 ? await asNewAttachments(files) : undefined
      return api.createConfig(target.teamId, { plugin_id: target.pluginId, config, attachments, enabled, pinned_version: target.pinnedVersion ?? undefined })
    }
    let view = target.config
    const update = withClearedSecrets(config, schema, cleared, existing)
    if (Object.keys(update).length > 0) view = await api.updateConfig(view.id, { config: update })
    for (const [key, file] of Object.entries(files)) view = await api.uploadAttachment(view.id, key, file)
    return view
  }

  const submit = async (e: Event) => {
    e.preventDefault()
    edited()
    const missing = missingRequired(schema, values, files, existing)
    setErrors(missing)
    if (Object.keys(missing).length > 0) return
    setBusy(true)
    try {
      const view = await save()
      const fresh = initialValues(schema, 'edit', view)
      setInitial(fresh)
      setValues(fresh)
      setFiles({})
      setCleared(new Set())
      formRef.current?.querySelectorAll<HTMLInputElement>('input[type=file]').forEach((input) => (input.value = ''))
      setSaved(mode === 'create' ? 'Config created.' : 'Saved.')
      onSaved(view)
    } catch (err) {
      const error = toApiError(err)
      const key = fieldOfError(error.field, schema)
      if (key !== null) setErrors({ [key]: error.message })
      else setFormError(error)
    } finally {
      setBusy(false)
    }
  }

  return (
    <form ref={formRef} class="config-form" onSubmit={submit} noValidate>
      <ErrorMessage error={formError} testid="form-error" />
      <ConfigFields
        schema={schema}
        mode={mode}
        values={values}
        existing={existing}
        errors={errors}
        onValue={(key, value) => {
          edited()
          setValues((v) => ({ ...v, [key]: value }))
        }}
        onFile={(key, file) => {
          edited()
          setFiles((f) => withFile(f, key, file))
        }}
        cleared={cleared}
        onClear={(key, clear) => {
          edited()
          setCleared((c) => {
            const next = new Set(c)
            if (clear) next.add(key)
            else next.delete(key)
            return next
          })
          // A value typed before clearing would otherwise be sent along with the null.
          if (clear) setValues((v) => ({ ...v, [key]: '' }))
        }}
      />
      {mode === 'create' && (
        <label class="checkbox">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} data-testid="config-enabled" />
          Enable it now (new configs start disabled otherwise)
        </label>
      )}
      <div class="form-actions">
        <button type="submit" class="primary" disabled={busy} data-testid="config-save">
          {busy ? 'Saving…' : mode === 'create' ? 'Create config' : 'Save'}
        </button>
        {saved && (
          <span class="message-inline message-ok" role="status" data-testid="config-saved">
            {saved}
          </span>
        )}
      </div>
    </form>
  )
}
