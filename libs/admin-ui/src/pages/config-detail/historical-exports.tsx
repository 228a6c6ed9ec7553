import { useState } from 'preact/hooks'
import type { ApiError } from '../../api/client'
import { api } from '../../api/endpoints'
import { Badge } from '../../components/badge'
import { ErrorMessage } from '../../components/error-message'
import { formatDuration, formatTime, isoToLocalInput, localInputToIso } from '../../lib/format'
import type { HistoricalRun } from '../../api/types'
import { toApiError, useAsync } from '../../lib/use-async'

const DAY_MS = 24 * 60 * 60 * 1000

const unfinished = (run: HistoricalRun) => run.status === 'queued' || run.status === 'running'

/** Re-exports the stored events of a time range through the plugin's exportEvents: a run the exporters execute, cancellable while unfinished. */
export function HistoricalExports({ configId }: { configId: number }) {
  const runs = useAsync(() => api.historicalExports(configId), [configId], 2000)
  const [from, setFrom] = useState(() => isoToLocalInput(new Date(Date.now() - DAY_MS)))
  const [to, setTo] = useState(() => isoToLocalInput(new Date()))
  const [error, setError] = useState<ApiError | string | null>(null)
  const [busy, setBusy] = useState(false)
  const [cancelling, setCancelling] = useState<number | null>(null)

  const start = async (e: Event) => {
    e.preventDefault()
    setError(null)
    const fromIso = localInputToIso(from)
    const toIso = localInputToIso(to)
    if (fromIso === null || toIso === null) return setError('Give both ends of the range.')
    if (fromIso >= toIso) return setError('"From" must be before "to".')
    setBusy(true)
    try {
      await api.startHistoricalExport(configId, fromIso, toIso)
      runs.reload()
    } catch (err) {
      setError(toApiError(err))
    } finally {
      setBusy(false)
    }
  }

  const cancel = async (run: HistoricalRun) => {
    setError(null)
    setCancelling(run.id)
    try {
      await api.cancelHistoricalExport(configId, run.id)
      runs.reload()
    } catch (err) {
      setError(toApiError(err))
    } finally {
      setCancelling(null)
    }
  }

  return (
    <div class="card">
      <h2>Historical export</h2>
      <form class="inline-form" onSubmit={start}>
        <label>
          <span>From</span>
          <input type="datetime-local" value={from} onInput={(e) => setFrom(e.currentTarget.value)} data-testid="historical-from" />
        </label>
        <label>
          <span>To</span>
          <input type="datetime-local" value={to} onInput={(e) => setTo(e.currentTarget.value)} data-testid="historical-to" />
        </label>
        <button type="submit" class="primary" disabled={busy} data-testid="historical-start">
          Start export
        </button>
      </form>
      <p class="help">
        The exporters run it and it survives their restarts. It exports the events of the range stored when it starts; starting the same range again shows the
        run already there.
      </p>
      <ErrorMessage error={error ?? runs.error} testid="historical-error" />
      {runs.data && runs.data.length > 0 && (
        <table class="table">
          <thead>
            <tr>
              <th class="num">Run</th>
              <th>Range</th>
              <th>Status</th>
              <th>Progress</th>
              <th class="num">Exported</th>
              <th class="num">Failed</th>
              <th class="num">Skipped</th>
              <th>ETA</th>
              <th>Started</th>
              <th>Finished</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {runs.data.map((run) => (
              <tr key={run.id} data-testid="historical-run-row" data-id={run.id} data-status={run.status}>
                <td class="num">{run.id}</td>
                <td>
                  {formatTime(run.from)} → {formatTime(run.to)}
                </td>
                <td>
                  <Badge state={run.status} />
                  {run.error && (
                    <span class="error-text" title={run.error.time}>
                      {' '}
                      {run.error.message}
                    </span>
                  )}
                </td>
                <td>
                  {run.total === null ? (
                    <span class="muted">waiting for an exporter</span>
                  ) : (
                    <div class="progress">
                      <progress max={Math.max(run.total, 1)} value={run.done} />
                      <span>
                        {run.done}/{run.total}
                      </span>
                    </div>
                  )}
                </td>
                <td class="num">{run.exported}</td>
                <td class="num">{run.failed}</td>
                <td class="num">{run.skipped}</td>
                <td>{run.eta_seconds === null ? '—' : formatDuration(run.eta_seconds * 1000)}</td>
                <td>{formatTime(run.started_at ?? run.created_at)}</td>
                <td>{formatTime(run.finished_at)}</td>
                <td>
                  {unfinished(run) && (
                    <button
                      type="button"
                      class="danger"
                      disabled={cancelling === run.id}
                      onClick={() => void cancel(run)}
                      data-testid={`historical-cancel-${run.id}`}
                    >
                      Cancel
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}
