import { api } from '../../api/endpoints'
import type { PluginDetail } from '../../api/types'
import { ErrorMessage } from '../../components/error-message'
import { JsonBlock } from '../../components/json-block'
import { Loading } from '../../components/loading'
import { formatTime } from '../../lib/format'
import { href, navigate } from '../../lib/router'
import { isOperator, useSession } from '../../lib/session-context'
import { useAsync } from '../../lib/use-async'
import { webLink } from '../../lib/web-link'
import { ConfigSchemaTable } from './config-schema-table'
import { PluginVersionsTable } from './plugin-versions-table'
import { PublicJobsTable } from './public-jobs-table'

/** plugin.json keys shown in their own sections; the rest is listed as JSON. */
const SHOWN_KEYS = new Set(['name', 'description', 'url', 'config', 'publicJobs'])

export function PluginDetailPage({ pluginId }: { pluginId: string }) {
  const session = useSession()
  const { teamId } = session
  const plugin = useAsync(() => api.plugin(pluginId), [pluginId])
  // To point at the team's existing config instead of offering a second one (the API allows one per plugin).
  const configs = useAsync(() => (teamId === null ? Promise.resolve([]) : api.configs(teamId)), [teamId])

  if (plugin.data === undefined) return plugin.error ? <ErrorMessage error={plugin.error} /> : <Loading what="the plugin" />
  const p: PluginDetail = plugin.data
  const json = p.plugin_json
  const link = webLink(json.url)
  const existing = configs.data?.find((c) => c.plugin_id === p.id)
  const others = Object.fromEntries(Object.entries(json).filter(([key]) => !SHOWN_KEYS.has(key)))

  return (
    <section>
      <p class="crumbs">
        <a href={href('/plugins')}>Plugins</a> /
      </p>
      <div class="page-head row">
        <div>
          <h1 data-testid="plugin-detail-name">{p.name}</h1>
          <p class="muted">
            Current version {p.version} · installed {formatTime(p.created_at)} · updated {formatTime(p.updated_at)}
          </p>
        </div>
        <div class="actions">
          {/* A team has one config per plugin: a second would be refused (409). */}
          {existing ? (
            <a class="button" href={href(`/configs/${existing.id}`)} data-testid="plugin-existing-config">
              Open this team's config #{existing.id}
            </a>
          ) : (
            <button type="button" class="primary" onClick={() => navigate(`/configs/new?plugin=${p.id}`)} data-testid="plugin-configure">
              Configure for this team
            </button>
          )}
        </div>
      </div>

      <div class="card" data-testid="plugin-json">
        <h2>plugin.json</h2>
        <dl class="fields">
          <dt>name</dt>
          <dd>{json.name}</dd>
          <dt>description</dt>
          <dd>{json.description ?? <span class="muted">—</span>}</dd>
          <dt>url</dt>
          <dd>
            {link ? (
              <a href={link} target="_blank" rel="noopener noreferrer">
                {json.url}
              </a>
            ) : json.url ? (
              // Not an http(s) page: shown as text, never followed.
              <span data-testid="plugin-url-text">{String(json.url)}</span>
            ) : (
              <span class="muted">—</span>
            )}
          </dd>
        </dl>
        <h3>Config schema</h3>
        <ConfigSchemaTable schema={json.config ?? []} />
        {json.publicJobs && Object.keys(json.publicJobs).length > 0 && (
          <>
            <h3>Public jobs</h3>
            <PublicJobsTable jobs={json.publicJobs} />
          </>
        )}
        {Object.keys(others).length > 0 && (
          <>
            <h3>Other keys</h3>
            <JsonBlock value={others} testid="plugin-json-other" />
          </>
        )}
        <details class="raw">
          <summary>plugin.json as uploaded</summary>
          <JsonBlock value={json} testid="plugin-json-raw" />
        </details>
      </div>

      <div class="card">
        <h2>Versions</h2>
        <PluginVersionsTable plugin={p} canChange={isOperator(session)} onChanged={plugin.reload} />
      </div>
    </section>
  )
}
