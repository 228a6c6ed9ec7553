import { useState } from 'preact/hooks'
import { api } from '../../api/endpoints'
import { ErrorMessage } from '../../components/error-message'
import { Loading } from '../../components/loading'
import { href, navigate } from '../../lib/router'
import { useAsync } from '../../lib/use-async'
import { ConfigForm } from './config-form'

export function NewConfigPage({ teamId, pluginId }: { teamId: number; pluginId: string | null }) {
  const plugin = useAsync(
    () => (pluginId === null ? Promise.reject(new Error('no plugin chosen: open one on the Plugins page')) : api.plugin(pluginId)),
    [pluginId],
  )
  // null: follow the current version; a number: pin the new config to that version (its fields shown below).
  const [pin, setPin] = useState<number | null>(null)
  if (plugin.data === undefined) return plugin.error ? <ErrorMessage error={plugin.error} /> : <Loading what="the plugin" />
  const p = plugin.data
  const schema = (pin === null ? undefined : p.versions.find((v) => v.version === pin)?.config_schema) ?? p.config_schema
  return (
    <section>
      <p class="crumbs">
        <a href={href('/plugins')}>Plugins</a> / <a href={href(`/plugins/${p.id}`)}>{p.name}</a> /
      </p>
      <div class="page-head">
        <h1>Configure {p.name}</h1>
        <p class="muted">
          For team #{teamId}. {p.description}
        </p>
      </div>
      <div class="card">
        {p.versions.length > 1 && (
          <label class="version-pin" style={{ display: 'block', marginBottom: '1rem' }}>
            Version{' '}
            <select
              value={pin === null ? 'follow' : String(pin)}
              onChange={(e) => setPin(e.currentTarget.value === 'follow' ? null : Number(e.currentTarget.value))}
              data-testid="new-config-pin-select"
            >
              <option value="follow">Follow the current version (now {p.version})</option>
              {p.versions.map((v) => (
                <option key={v.version} value={String(v.version)}>
                  Pin to version {v.version}
                  {v.current ? ' (current)' : ''}
                </option>
              ))}
            </select>
          </label>
        )}
        <ConfigForm
          key={pin ?? 'follow'}
          schema={schema}
          target={{ kind: 'create', teamId, pluginId: p.id, pinnedVersion: pin }}
          onSaved={(view) => navigate(`/configs/${view.id}/settings?created=1`)}
        />
      </div>
    </section>
  )
}
