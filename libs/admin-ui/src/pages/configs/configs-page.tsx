import { useEffect, useState } from 'preact/hooks'
import type { ApiError } from '../../api/client'
import { api } from '../../api/endpoints'
import type { PluginConfigView } from '../../api/types'
import { ErrorMessage } from '../../components/error-message'
import { Loading } from '../../components/loading'
import { href } from '../../lib/router'
import { toApiError, useAsync } from '../../lib/use-async'
import { ConfigRow } from './config-row'
import { TeamUsagePanel } from './team-usage'

const HEALTH_REFRESH_MS = 10_000
/** Configs created, changed or disabled elsewhere (the CLI, another tab, the breaker) show within this. */
const LIST_REFRESH_MS = 10_000

/** `ids` with `moved` taken out and put where `target` was. */
function moveTo(ids: number[], moved: number, target: number): number[] {
  const rest = ids.filter((id) => id !== moved)
  rest.splice(ids.indexOf(target), 0, moved)
  return rest
}

/** The configs rearranged as `ids`, handing out their `order` values again, as the server will, so the rows agree at once. */
function inOrder(configs: PluginConfigView[], ids: number[]): PluginConfigView[] {
  const orders = configs.map((c) => c.order).sort((a, b) => a - b)
  return ids.flatMap((id, i) => {
    const config = configs.find((c) => c.id === id)
    return config ? [{ ...config, order: orders[i] }] : []
  })
}

/** The team's configs in processEvent order: the first one sees each event first. */
export function ConfigsPage({ teamId }: { teamId: number }) {
  const loaded = useAsync(() => api.configs(teamId), [teamId], LIST_REFRESH_MS)
  const health = useAsync(() => api.configsHealth(teamId), [teamId], HEALTH_REFRESH_MS)
  // A local copy, so a reorder shows at once and goes back if the server refuses it.
  const [configs, setConfigs] = useState<PluginConfigView[] | undefined>(undefined)
  const [error, setError] = useState<ApiError | null>(null)
  const [dragged, setDragged] = useState<number | null>(null)

  // Not while a row is dragged: the rows would move under the pointer.
  useEffect(() => {
    if (dragged === null) setConfigs(loaded.data)
  }, [loaded.data])

  const run = async (action: () => Promise<void>) => {
    setError(null)
    try {
      await action()
    } catch (err) {
      setError(toApiError(err))
    }
  }

  const reorder = (ids: number[]) =>
    run(async () => {
      const before = configs
      setConfigs(inOrder(configs ?? [], ids))
      try {
        setConfigs(await api.reorderConfigs(teamId, ids))
      } catch (err) {
        setConfigs(before)
        // Refused most often because the list changed elsewhere (a config added or deleted): load it again.
        loaded.reload()
        throw err
      }
    })

  const replace = (view: PluginConfigView) => setConfigs((list) => list?.map((c) => (c.id === view.id ? view : c)))

  if (configs === undefined) return loaded.error ? <ErrorMessage error={loaded.error} /> : <Loading what="configs" />
  const ids = configs.map((c) => c.id)

  return (
    <section>
      <div class="page-head row">
        <div>
          <h1>Configs</h1>
          <p class="muted">Events pass through the enabled configs from top to bottom. Drag a row, or use the arrows, to change the order.</p>
        </div>
        <div class="actions">
          <a class="button" href={href('/plugins')}>
            Configure a plugin…
          </a>
        </div>
      </div>
      <ErrorMessage error={error} testid="configs-error" />
      {configs.length === 0 ? (
        <p class="empty">This team has no plugin configs yet: pick a plugin on the Plugins page and configure it.</p>
      ) : (
        <table class="table configs-table" data-testid="configs-table">
          <thead>
            <tr>
              <th class="handle-col" aria-label="Drag handle" />
              <th class="num">#</th>
              <th>Plugin</th>
              <th>State</th>
              <th title="processEvent over the last hour: share of events that failed, and events in">Health (1 h)</th>
              <th>Enabled</th>
              <th class="actions-col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {configs.map((config, index) => (
              <ConfigRow
                key={config.id}
                config={config}
                position={index}
                health={health.data?.configs.find((h) => h.id === config.id)}
                last={index === configs.length - 1}
                dragging={dragged === config.id}
                onDragStart={() => setDragged(config.id)}
                onDragEnd={() => setDragged(null)}
                onDrop={() => {
                  if (dragged !== null && dragged !== config.id) void reorder(moveTo(ids, dragged, config.id))
                  setDragged(null)
                }}
                onMove={(delta) => void reorder(moveTo(ids, config.id, ids[index + delta]))}
                onToggle={() => run(async () => replace(await api.setConfigEnabled(config.id, !config.enabled)))}
                onDelete={() =>
                  run(async () => {
                    await api.deleteConfig(config.id)
                    setConfigs((list) => list?.filter((c) => c.id !== config.id))
                  })
                }
              />
            ))}
          </tbody>
        </table>
      )}
      <TeamUsagePanel teamId={teamId} />
    </section>
  )
}
