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
  if (plugin.data === undefined) return plugin.error ? <ErrorMessage error={plugin.error} /> : <Loading what="the plugin" />
  const p = plugin.data
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
        <ConfigForm
          schema={p.config_schema}
          target={{ kind: 'create', teamId, pluginId: p.id }}
          onSaved={(view) => navigate(`/configs/${view.id}/settings?created=1`)}
        />
      </div>
    </section>
  )
}
