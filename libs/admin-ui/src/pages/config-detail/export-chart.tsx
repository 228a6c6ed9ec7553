import type { ExportMetrics, ExportSeries } from '../../api/types'
import { LineChart } from '../../components/line-chart'

/** The export counters, with the short names the legend and the metric tiles use. */
export const EXPORT_METRICS: { key: keyof ExportMetrics; label: string }[] = [
  { key: 'events_seen', label: 'seen' },
  { key: 'events_delivered_successfully', label: 'delivered' },
  { key: 'retry_errors', label: 'retry errors' },
  { key: 'other_errors', label: 'other errors' },
  { key: 'undelivered_events', label: 'undelivered' },
]

function minuteLabel(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
}

export function ExportChart({ series }: { series: ExportSeries }) {
  return (
    <LineChart
      testid="export-chart"
      labels={series.points.map((p) => minuteLabel(p.t))}
      series={EXPORT_METRICS.map((m) => ({ name: m.label, values: series.points.map((p) => p[m.key]) }))}
    />
  )
}
