import type { HistoricalRun } from '../../api/types'
import { Badge } from '../../components/badge'
import { formatTime } from '../../lib/format'
import { href } from '../../lib/router'

const SHOWN = 3

/** The config's latest historical runs, each with its own counts: backfills are not part of the live numbers above. */
export function HistoricalSummary({ configId, runs }: { configId: number; runs: HistoricalRun[] | undefined }) {
  return (
    <div data-testid="status-historical">
      <h3>Historical exports</h3>
      {runs === undefined ? null : runs.length === 0 ? (
        <p class="empty">No historical export of this config.</p>
      ) : (
        <ul class="plain-list">
          {runs.slice(0, SHOWN).map((run) => (
            <li key={run.id} data-testid={`status-historical-${run.id}`}>
              <Badge state={run.status} /> #{run.id}, {formatTime(run.from)} – {formatTime(run.to)}: exported {run.exported}, failed {run.failed}
              {run.total !== null && ` of ${run.total}`}
              {run.percent !== null && ` (${Math.round(run.percent)}%)`}
            </li>
          ))}
        </ul>
      )}
      <p class="muted small">
        Runs count their own events, apart from live delivery; all runs on the <a href={href(`/configs/${configId}/exports`)}>Exports tab</a>.
      </p>
    </div>
  )
}
