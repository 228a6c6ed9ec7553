import type { ProcessingSeries, ProcessingSummary } from '../../api/types'
import { ErrorMessage } from '../../components/error-message'
import { LineChart } from '../../components/line-chart'

/** The event counts, in the order of the chart colours (in: blue, returned: green, dropped: amber, failed: red). */
const COUNTS: { key: 'events_in' | 'events_returned' | 'events_dropped' | 'events_failed'; label: string }[] = [
  { key: 'events_in', label: 'in' },
  { key: 'events_returned', label: 'returned' },
  { key: 'events_dropped', label: 'dropped' },
  { key: 'events_failed', label: 'failed' },
]

function minuteLabel(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
}

function formatMs(ms: number | null): string {
  if (ms === null) return '—'
  return ms < 10 ? `${ms.toFixed(1)} ms` : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}

/** The share of events in, as the configs list's health column writes it: whole percents from 10 %, one decimal below. */
function share(part: number, whole: number): string {
  if (whole === 0) return ''
  const percent = (part / whole) * 100
  return ` (${percent === 0 || percent >= 10 ? Math.round(percent) : percent.toFixed(1)}%)`
}

interface Props {
  /** The last hour's totals, from the status. */
  total: ProcessingSummary
  series: ProcessingSeries | undefined
  seriesError: Parameters<typeof ErrorMessage>[0]['error']
}

/** What the config's processEvent did over the last hour, fleet-wide: counters, then per-minute charts of events and call times. */
export function ProcessingPanel({ total, series, seriesError }: Props) {
  return (
    <div class="card" data-testid="processing-panel">
      <h2>Processing</h2>
      <p class="muted small">processEvent over the last hour, summed over every ingest worker.</p>
      <div class="tiles tiles-6">
        {COUNTS.map((c) => (
          <div key={c.key} class="tile">
            <span class="tile-label">{c.label}</span>
            <span class="tile-value" data-testid={`processing-${c.key}`} data-value={total[c.key]}>
              {total[c.key]}
              {c.key !== 'events_in' && <span class="tile-note">{share(total[c.key], total.events_in)}</span>}
            </span>
          </div>
        ))}
        <div class="tile">
          <span class="tile-label">time p50</span>
          <span class="tile-value" data-testid="processing-p50">
            {formatMs(total.p50_ms)}
          </span>
        </div>
        <div class="tile">
          <span class="tile-label">time p99</span>
          <span class="tile-value" data-testid="processing-p99">
            {formatMs(total.p99_ms)}
          </span>
        </div>
      </div>
      <h3>Events per minute</h3>
      {series ? (
        <LineChart
          testid="processing-chart"
          labels={series.points.map((p) => minuteLabel(p.t))}
          series={COUNTS.map((c) => ({ name: c.label, values: series.points.map((p) => p[c.key]) }))}
        />
      ) : (
        <ErrorMessage error={seriesError} />
      )}
      <h3>processEvent call time per minute (ms)</h3>
      {series && (
        <LineChart
          testid="processing-time-chart"
          labels={series.points.map((p) => minuteLabel(p.t))}
          series={[
            { name: 'p50', values: series.points.map((p) => p.p50_ms ?? 0) },
            { name: 'p99', values: series.points.map((p) => p.p99_ms ?? 0) },
          ]}
        />
      )}
    </div>
  )
}
