import { api } from '../../api/endpoints'
import type { ConfigStatus } from '../../api/types'
import { Badge } from '../../components/badge'
import { ErrorMessage } from '../../components/error-message'
import { Loading } from '../../components/loading'
import { formatBytes, formatDuration, formatTime } from '../../lib/format'
import { useAsync } from '../../lib/use-async'
import { EXPORT_METRICS, ExportChart } from './export-chart'
import { HistoricalSummary } from './historical-summary'
import { ProcessingPanel } from './processing-panel'
import { SetupState } from './setup-state'

const REFRESH_MS = 3000

export function StatusTab({ configId }: { configId: number }) {
  const status = useAsync(() => api.status(configId), [configId], REFRESH_MS)
  const series = useAsync(() => api.exportSeries(configId, 60), [configId], REFRESH_MS)
  const processing = useAsync(() => api.processingSeries(configId, 60), [configId], REFRESH_MS)
  const runs = useAsync(() => api.historicalExports(configId), [configId], REFRESH_MS)
  if (status.data === undefined) return status.error ? <ErrorMessage error={status.error} /> : <Loading what="the status" />
  const s: ConfigStatus = status.data
  const metrics = Object.entries(s.plugin_metrics)
  const showExport = exportsEvents(s)
  const showProcessing = s.methods === null || s.methods.includes('processEvent') || s.processing.events_in > 0

  return (
    <div class="stack">
      <ErrorMessage error={status.error} />
      <div class="card">
        <h2>Setup</h2>
        <SetupState status={s} />
        {s.last_error && (
          <div class="message message-error" data-testid="status-last-error">
            <strong>Last error</strong> ({formatTime(s.last_error.time)}): {s.last_error.message}
          </div>
        )}
      </div>

      {showProcessing && <ProcessingPanel total={s.processing} series={processing.data} seriesError={processing.error} />}

      {s.export && showExport && (
        <div class="card" data-testid="export-panel">
          <h2>Export: live delivery</h2>
          <div class="tiles">
            {EXPORT_METRICS.map((m) => (
              <div key={m.key} class="tile">
                <span class="tile-label">{m.label}</span>
                <span class="tile-value" data-testid={`export-metric-${m.key}`}>
                  {s.export?.metrics[m.key] ?? 0}
                </span>
              </div>
            ))}
          </div>
          <p class="muted small">
            Buffered: {s.export.buffer.events} events ({formatBytes(s.export.buffer.bytes)}, oldest{' '}
            {s.export.buffer.ageSeconds === null ? '—' : `${s.export.buffer.ageSeconds.toFixed(1)} s`}) · pending batches {s.export.pending_batches} · retries
            in flight {s.export.retries_in_flight} · dead letters pending {s.export.dead_letters.pending} ({s.export.dead_letters.pendingEvents} events),
            replayed {s.export.dead_letters.replayed}
          </p>
          <h3>Last hour, per minute</h3>
          {series.data ? <ExportChart series={series.data} /> : <ErrorMessage error={series.error} />}
          <HistoricalSummary configId={configId} runs={runs.data} />
        </div>
      )}

      <div class="card">
        <h2>Plugin metrics</h2>
        {metrics.length === 0 ? (
          <p class="empty">The plugin has not reported any metric.</p>
        ) : (
          <table class="table compact">
            <tbody>
              {metrics.map(([name, value]) => (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  <td class="num" data-testid={`plugin-metric-${name}`}>
                    {value}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>

      <div class="card">
        <h2>Scheduled tasks</h2>
        {s.scheduled.length === 0 ? (
          <p class="empty">No runEveryMinute, runEveryHour or runEveryDay in this plugin.</p>
        ) : (
          <table class="table">
            <thead>
              <tr>
                <th>Task</th>
                <th>Next run</th>
                <th>Last runs</th>
              </tr>
            </thead>
            <tbody>
              {s.scheduled.map((task) => (
                <tr key={task.task} data-testid={`scheduled-${task.task}`}>
                  <td>
                    <code>{task.task}</code>
                  </td>
                  <td>{formatTime(task.next_run_at)}</td>
                  <td>
                    {task.last_runs.length === 0 && <span class="muted">not run yet</span>}
                    {task.last_runs.map((run) => (
                      <span key={run.started_at} class="chip" title={`${formatTime(run.started_at)}${run.error ? `: ${run.error}` : ''}`}>
                        <Badge state={run.outcome} /> {formatDuration(run.duration_ms)}
                      </span>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  )
}

/**
 * Whether the Export panel applies: the plugin's code exports an export method, as the workers that
 * loaded it saw it; before any has, only when something was exported (a processEvent-only plugin
 * never shows a panel of zeros).
 */
function exportsEvents(s: ConfigStatus): boolean {
  if (s.exports !== null) return s.exports
  return EXPORT_METRICS.some((m) => (s.export?.metrics[m.key] ?? 0) > 0)
}
