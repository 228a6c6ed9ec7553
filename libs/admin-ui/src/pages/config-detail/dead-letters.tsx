import { useState } from 'preact/hooks'
import type { ApiError } from '../../api/client'
import { api } from '../../api/endpoints'
import { Badge } from '../../components/badge'
import { ErrorMessage } from '../../components/error-message'
import { formatTime } from '../../lib/format'
import { toApiError, useAsync } from '../../lib/use-async'

/** Export batches that failed every retry: replaying sends them to the exporter again. */
export function DeadLetters({ configId }: { configId: number }) {
  const letters = useAsync(() => api.deadLetters(configId), [configId], 2000)
  const [result, setResult] = useState<string | null>(null)
  const [error, setError] = useState<ApiError | null>(null)
  const [busy, setBusy] = useState(false)

  const replay = async (ids?: number[]) => {
    setBusy(true)
    setResult(null)
    setError(null)
    try {
      const r = await api.replayDeadLetters(configId, ids)
      // One request replays the oldest 1 000 at most: the rest wait for the next press.
      const more = r.held_back === null && r.remaining > 0 ? ` ${r.remaining} more pending: Replay all again for the next 1 000.` : ''
      setResult(`Replayed ${r.replayed} batch${r.replayed === 1 ? '' : 'es'} (${r.events} events).${r.held_back === null ? '' : ` ${r.held_back}.`}${more}`)
      letters.reload()
    } catch (err) {
      setError(toApiError(err))
    } finally {
      setBusy(false)
    }
  }

  const rows = letters.data ?? []
  const pending = rows.filter((l) => l.replayed_at === null)
  return (
    <div class="card">
      <div class="card-head">
        <h2>Dead letters</h2>
        <button type="button" disabled={busy || pending.length === 0} onClick={() => void replay()} data-testid="dead-letters-replay">
          Replay all{pending.length > 0 ? ` (${pending.length})` : ''}
        </button>
      </div>
      <ErrorMessage error={error ?? letters.error} testid="dead-letters-error" />
      {result && (
        <p class="message message-ok" data-testid="dead-letters-result">
          {result}
        </p>
      )}
      {rows.length === 0 ? (
        <p class="empty">{letters.data ? 'No dead letters: every export batch was delivered or is still retrying.' : 'Loading…'}</p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th class="num">Id</th>
              <th>Method</th>
              <th class="num">Events</th>
              <th class="num">Attempts</th>
              <th>Error</th>
              <th>Last attempt</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((letter) => (
              <tr key={letter.id} data-testid="dead-letter-row" data-id={letter.id}>
                <td class="num">{letter.id}</td>
                <td>
                  <code>{letter.method}</code>
                </td>
                <td class="num">{letter.event_count}</td>
                <td class="num">{letter.attempts}</td>
                <td class="error-text">
                  {letter.retry_error ? 'retries exhausted: ' : ''}
                  {letter.error}
                </td>
                <td>{formatTime(letter.last_attempt_at)}</td>
                <td>{letter.replayed_at ? <Badge state="replayed" /> : <Badge tone="warn">pending</Badge>}</td>
                <td>
                  {letter.replayed_at === null && (
                    <button
                      type="button"
                      class="small"
                      disabled={busy}
                      onClick={() => void replay([letter.id])}
                      data-testid={`dead-letter-replay-${letter.id}`}
                    >
                      Replay
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
