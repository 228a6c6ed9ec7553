import type { TryResult } from '../../api/types'
import { JsonBlock } from '../../components/json-block'
import { TryStepView } from './try-step'

export function TryResultView({ result }: { result: TryResult }) {
  return (
    <div class="stack">
      <div class="card">
        <h2>Output event</h2>
        {result.dropped || result.output === null ? (
          <p class="message message-warn" data-testid="try-output" data-dropped="true">
            dropped: a processEvent returned nothing, so the event would not be stored.
          </p>
        ) : (
          <JsonBlock value={result.output} testid="try-output" />
        )}
      </div>
      <h2>Steps</h2>
      {result.steps.length === 0 ? <p class="empty">No plugin method ran.</p> : null}
      <ol class="steps">
        {result.steps.map((step, i) => (
          <TryStepView key={i} step={step} />
        ))}
      </ol>
    </div>
  )
}
