import { useState } from 'preact/hooks'
import type { ApiError } from '../../api/client'
import { api } from '../../api/endpoints'
import type { PluginConfigView, PluginDetail } from '../../api/types'
import { Badge } from '../../components/badge'
import { ErrorMessage } from '../../components/error-message'
import { toApiError } from '../../lib/use-async'

interface Props {
  config: PluginConfigView
  plugin: PluginDetail
  onSaved: (view: PluginConfigView) => void
}

const FOLLOW = 'follow'

/**
 * Which version the config runs, and the pin: a pinned config stays on its version through new
 * installs and rollbacks; "follow" runs whatever version of the plugin is current.
 */
export function VersionPin({ config, plugin, onSaved }: Props) {
  const [choice, setChoice] = useState(config.pinned_version === null ? FOLLOW : String(config.pinned_version))
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<ApiError | null>(null)
  const [saved, setSaved] = useState(false)
  const unchanged = choice === (config.pinned_version === null ? FOLLOW : String(config.pinned_version))

  const save = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      onSaved(await api.updateConfig(config.id, { pinned_version: choice === FOLLOW ? null : Number(choice) }))
      setSaved(true)
    } catch (err) {
      setError(toApiError(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <form class="version-pin" style={{ marginBottom: '1rem' }} onSubmit={save}>
      <p data-testid="config-runs-version">
        Runs version <strong>{config.plugin_version}</strong>{' '}
        {config.pinned_version === null ? <span class="muted">(follows the plugin's current version)</span> : <Badge tone="info">pinned</Badge>}
      </p>
      <label>
        Version{' '}
        <select
          value={choice}
          onChange={(e) => {
            setChoice(e.currentTarget.value)
            setSaved(false)
          }}
          data-testid="config-pin-select"
        >
          <option value={FOLLOW}>Follow the current version (now {plugin.version})</option>
          {plugin.versions.map((v) => (
            <option key={v.version} value={String(v.version)}>
              Pin to version {v.version}
              {v.current ? ' (current)' : ''}
            </option>
          ))}
        </select>
      </label>{' '}
      <button type="submit" disabled={busy || unchanged} data-testid="config-pin-save">
        {busy ? 'Saving…' : 'Apply'}
      </button>
      {saved && (
        <span class="message-inline message-ok" role="status" data-testid="config-pin-saved">
          Saved; the workers reload it within seconds.
        </span>
      )}
      <ErrorMessage error={error} testid="config-pin-error" />
    </form>
  )
}
