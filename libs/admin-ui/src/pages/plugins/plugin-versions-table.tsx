import { useState } from 'preact/hooks'
import type { ApiError } from '../../api/client'
import { api } from '../../api/endpoints'
import type { PluginDetail } from '../../api/types'
import { Badge } from '../../components/badge'
import { ErrorMessage } from '../../components/error-message'
import { formatTime } from '../../lib/format'
import { toApiError } from '../../lib/use-async'

interface Props {
  plugin: PluginDetail
  /** Only the operator may change the current version: it moves every team's configs that follow it. */
  canChange: boolean
  onChanged: () => void
}

/**
 * Every stored version, newest first, with how many configs run it. "Make current" is a rollback
 * (or forward again): configs without a pin switch to that version on every worker within seconds.
 */
export function PluginVersionsTable({ plugin, canChange, onChanged }: Props) {
  const [busy, setBusy] = useState<number | null>(null)
  const [confirming, setConfirming] = useState<number | null>(null)
  const [message, setMessage] = useState<string | null>(null)
  const [error, setError] = useState<ApiError | null>(null)

  const makeCurrent = async (version: number) => {
    setBusy(version)
    setError(null)
    setMessage(null)
    try {
      setMessage((await api.setCurrentVersion(plugin.id, version)).message)
      onChanged()
    } catch (err) {
      setError(toApiError(err))
    } finally {
      setBusy(null)
      setConfirming(null)
    }
  }

  return (
    <>
      <ErrorMessage error={error} testid="plugin-version-error" />
      {message && (
        <p class="message-ok" role="status" data-testid="plugin-version-message">
          {message}
        </p>
      )}
      <table class="table" data-testid="plugin-versions">
        <thead>
          <tr>
            <th class="num">Version</th>
            <th>Content hash</th>
            <th>Installed</th>
            {/* A team token is told only its own team's count (the API counts no other team's configs for it). */}
            <th class="num">{canChange ? 'Configs' : "Your team's configs"}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {plugin.versions.map((v) => (
            <tr key={v.version} data-testid={`plugin-version-${v.version}`}>
              <td class="num">{v.version}</td>
              <td>
                <code title={v.content_hash}>{v.content_hash.slice(0, 12)}</code>
              </td>
              <td>{formatTime(v.created_at)}</td>
              <td class="num" data-testid={`plugin-version-configs-${v.version}`}>
                {v.config_count}
              </td>
              <td>
                {v.current ? (
                  <Badge tone="ok" testid={`plugin-version-current-${v.version}`}>
                    current
                  </Badge>
                ) : canChange && confirming === v.version ? (
                  <span class="confirm">
                    Configs without a pin switch to version {v.version}.
                    <button
                      type="button"
                      class="primary small"
                      disabled={busy !== null}
                      onClick={() => void makeCurrent(v.version)}
                      data-testid={`plugin-version-confirm-${v.version}`}
                    >
                      {busy === v.version ? 'Switching…' : `Make version ${v.version} current`}
                    </button>
                    <button type="button" class="small" onClick={() => setConfirming(null)}>
                      Cancel
                    </button>
                  </span>
                ) : (
                  canChange && (
                    <button type="button" class="small" onClick={() => setConfirming(v.version)} data-testid={`plugin-version-make-current-${v.version}`}>
                      Make current
                    </button>
                  )
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  )
}
