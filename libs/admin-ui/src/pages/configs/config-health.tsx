import type { ProcessingCounts } from '../../api/types'
import { Badge, Tone } from '../../components/badge'

/** Failure shares (of events in) from which the badge warns, and turns red. */
const WARN_RATIO = 0.01
const ERROR_RATIO = 0.1

/**
 * The configs list's health column: the last hour of the config's processEvent, fleet-wide, as
 * events in and the share that failed, with a badge toned by that share.
 */
export function ConfigHealth({ configId, counts }: { configId: number; counts: ProcessingCounts | undefined }) {
  const testid = `config-health-${configId}`
  if (counts === undefined) return <span class="muted" data-testid={testid} />
  if (counts.events_in === 0) {
    return (
      <span class="health muted" data-testid={testid} data-state="idle" title="No event reached its processEvent in the last hour">
        no events
      </span>
    )
  }
  const ratio = counts.events_failed / counts.events_in
  const tone: Tone = ratio >= ERROR_RATIO ? 'error' : ratio >= WARN_RATIO ? 'warn' : 'ok'
  const percent = ratio === 0 ? '0' : ratio < 0.001 ? '<0.1' : (ratio * 100).toFixed(ratio >= 0.1 ? 0 : 1)
  return (
    <span
      class="health"
      data-testid={testid}
      data-state={tone}
      data-in={counts.events_in}
      data-failed={counts.events_failed}
      title={`Last hour: ${counts.events_in} in, ${counts.events_returned} returned, ${counts.events_dropped} dropped, ${counts.events_failed} failed`}
    >
      <Badge tone={tone}>{percent}% failed</Badge> <span class="muted small">{counts.events_in} in</span>
    </span>
  )
}
