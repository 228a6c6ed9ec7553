import { DeadLetters } from './dead-letters'
import { HistoricalExports } from './historical-exports'

export function ExportsTab({ configId }: { configId: number }) {
  return (
    <div class="stack">
      <DeadLetters configId={configId} />
      <HistoricalExports configId={configId} />
    </div>
  )
}
