import { api } from '../../api/endpoints'
import { ErrorMessage } from '../../components/error-message'
import { Loading } from '../../components/loading'
import { formatTime } from '../../lib/format'
import { href } from '../../lib/router'
import { isOperator, useSession } from '../../lib/session-context'
import { useAsync } from '../../lib/use-async'
import { PluginUpload } from './plugin-upload'

export function PluginsPage() {
  const session = useSession()
  const plugins = useAsync(() => api.plugins(), [])
  return (
    <section>
      <div class="page-head">
        <h1>Plugins</h1>
        <p class="muted">Installed plugins are shared by every team; each team configures its own.</p>
      </div>
      {/* Installing changes the code every team runs: the API allows it to the operator only. */}
      {isOperator(session) && <PluginUpload onInstalled={plugins.reload} />}
      <ErrorMessage error={plugins.error} />
      {plugins.data === undefined ? (
        plugins.error === null && <Loading what="plugins" />
      ) : plugins.data.length === 0 ? (
        <p class="empty">No plugins installed yet.</p>
      ) : (
        <table class="table" data-testid="plugins-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Description</th>
              <th class="num">Version</th>
              <th>Installed</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {plugins.data.map((plugin) => (
              <tr key={plugin.id} data-testid={`plugin-row-${plugin.name}`}>
                <td>
                  <a href={href(`/plugins/${plugin.id}`)}>{plugin.name}</a>
                </td>
                <td>{plugin.description}</td>
                <td class="num">{plugin.version}</td>
                <td>{formatTime(plugin.created_at)}</td>
                <td>{formatTime(plugin.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
