import { useEffect, useState } from 'preact/hooks'
import type { ApiError } from '../../api/client'
import { api } from '../../api/endpoints'
import type { ConfigField, PluginConfigView, PluginDetail } from '../../api/types'
import { Badge } from '../../components/badge'
import { ErrorMessage } from '../../components/error-message'
import { Loading } from '../../components/loading'
import { href } from '../../lib/router'
import { isOperator, useSession } from '../../lib/session-context'
import { toApiError, useAsync } from '../../lib/use-async'
import { ConfigForm } from '../configs/config-form'
import { ExportsTab } from './exports-tab'
import { JobsTab } from './jobs-tab'
import { LogsTab } from './logs-tab'
import { StatusTab } from './status-tab'
import { VersionPin } from './version-pin'

/** An upgrade, rollback, disable by the breaker or another tab's change shows within this (the form follows a new version). */
const REFRESH_MS = 10_000

const TABS = [
  { id: 'settings', label: 'Settings' },
  { id: 'status', label: 'Status' },
  { id: 'logs', label: 'Logs' },
  { id: 'jobs', label: 'Jobs' },
  { id: 'exports', label: 'Exports' },
]

/** The fields of the version the config runs (a pinned one may differ from the current). */
function schemaOf(plugin: PluginDetail, version: number): ConfigField[] {
  return plugin.versions.find((v) => v.version === version)?.config_schema ?? plugin.config_schema
}

interface Props {
  configId: number
  tab: string
  justCreated: boolean
}

export function ConfigDetailPage({ configId, tab, justCreated }: Props) {
  const session = useSession()
  const loaded = useAsync(
    async () => {
      const config = await api.config(configId)
      return { config, plugin: await api.plugin(config.plugin_id) }
    },
    [configId],
    REFRESH_MS,
  )
  // Saving or toggling answers with the new view; kept here so the header follows.
  const [config, setConfig] = useState<PluginConfigView | undefined>(undefined)
  const [toggleError, setToggleError] = useState<ApiError | null>(null)
  useEffect(() => setConfig(loaded.data?.config), [loaded.data])

  // An operator opening another team's config (a link, a reload) switches the header to that team.
  const teamOfConfig = config?.team_id
  useEffect(() => {
    if (teamOfConfig !== undefined && isOperator(session) && session.teamId !== teamOfConfig) session.selectTeam(teamOfConfig)
  }, [teamOfConfig])

  if (loaded.data === undefined || config === undefined) return loaded.error ? <ErrorMessage error={loaded.error} /> : <Loading what="the config" />
  const { plugin } = loaded.data

  const toggle = async () => {
    setToggleError(null)
    try {
      setConfig(await api.setConfigEnabled(config.id, !config.enabled))
    } catch (err) {
      setToggleError(toApiError(err))
    }
  }

  return (
    <section>
      <p class="crumbs">
        <a href={href('/configs')}>Configs</a> /
      </p>
      <div class="page-head row">
        <div>
          <h1>
            <span data-testid="config-plugin-name">{config.plugin_name}</span> <span class="muted">config #{config.id}</span>
          </h1>
          <p class="muted">
            Team #{config.team_id} · position {config.order} ·{' '}
            <a href={href(`/plugins/${plugin.id}`)} data-testid="config-plugin-version">
              plugin v{config.plugin_version}
              {config.pinned_version !== null && ' (pinned)'}
            </a>{' '}
            {config.enabled ? <Badge tone="ok">enabled</Badge> : <Badge tone="muted">disabled</Badge>}
            {config.disabled_reason && <span> ({config.disabled_reason})</span>}
          </p>
        </div>
        <div class="actions">
          <button type="button" onClick={() => void toggle()} data-testid="config-enable-toggle">
            {config.enabled ? 'Disable' : 'Enable'}
          </button>
          <a class="button" href={href(`/try?config=${config.id}`)} data-testid="try-this-config">
            Try this config
          </a>
        </div>
      </div>
      <ErrorMessage error={toggleError} />
      <nav class="tabs" role="tablist">
        {TABS.map((t) => (
          <a
            key={t.id}
            role="tab"
            aria-selected={tab === t.id}
            class={tab === t.id ? 'active' : ''}
            href={href(`/configs/${config.id}/${t.id}`)}
            data-testid={`tab-${t.id}`}
          >
            {t.label}
          </a>
        ))}
      </nav>
      <div class="tab-body">
        {tab === 'settings' && (
          <div class="card">
            <VersionPin key={`pin-${config.id}`} config={config} plugin={plugin} onSaved={setConfig} />
            <ConfigForm
              key={`${config.id}-${config.plugin_version}`}
              schema={schemaOf(plugin, config.plugin_version)}
              target={{ kind: 'edit', config }}
              onSaved={setConfig}
              savedMessage={justCreated ? 'Config created.' : undefined}
            />
          </div>
        )}
        {tab === 'status' && <StatusTab configId={config.id} />}
        {tab === 'logs' && <LogsTab configId={config.id} />}
        {tab === 'jobs' && <JobsTab configId={config.id} />}
        {tab === 'exports' && <ExportsTab configId={config.id} />}
        {!TABS.some((t) => t.id === tab) && <p>No tab called {tab}.</p>}
      </div>
    </section>
  )
}
