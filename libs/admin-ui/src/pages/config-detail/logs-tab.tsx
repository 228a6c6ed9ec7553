import { useEffect, useRef, useState } from 'preact/hooks'
import { LOG_LEVELS, LOG_SOURCES, LogRow } from '../../api/types'
import { Badge, Tone } from '../../components/badge'
import { ErrorMessage } from '../../components/error-message'
import { formatClock } from '../../lib/format'
import { useDebounced } from '../../lib/use-debounced'
import { LogFilterState, LogFilters } from './log-filters'
import { useFollowedLogs } from './use-followed-logs'

const LEVEL_TONES: Record<string, Tone> = { ERROR: 'error', WARN: 'warn', INFO: 'info' }

/** Every box ticked is no filter at all, which the server answers fastest. */
function filterOf(chosen: string[], all: readonly string[]): string[] {
  return chosen.length === all.length ? [] : chosen
}

/** An ERROR row's first line says what failed; the lines after it are the plugin's stack. */
function LogMessage({ row }: { row: LogRow }) {
  const newline = row.message.indexOf('\n')
  if (row.type !== 'ERROR' || newline < 0) return <span class="log-message">{row.message}</span>
  return (
    <span class="log-message">
      {row.message.slice(0, newline)}
      <pre class="log-stack" data-testid="log-stack">
        {row.message.slice(newline + 1)}
      </pre>
    </span>
  )
}

export function LogsTab({ configId }: { configId: number }) {
  const [filters, setFilters] = useState<LogFilterState>({ levels: [...LOG_LEVELS], sources: [...LOG_SOURCES], search: '', follow: true })
  const search = useDebounced(filters.search.trim(), 300)
  const listRef = useRef<HTMLDivElement>(null)

  const nothingChosen = filters.levels.length === 0 || filters.sources.length === 0
  const query = nothingChosen ? null : { levels: filterOf(filters.levels, LOG_LEVELS), sources: filterOf(filters.sources, LOG_SOURCES), search }
  // Any filter change starts over: the latest rows that match, then only newer ones while following.
  const { rows, error } = useFollowedLogs(configId, query, filters.follow)

  useEffect(() => {
    const list = listRef.current
    if (filters.follow && list) list.scrollTop = list.scrollHeight
  }, [rows, filters.follow])

  return (
    <div class="card">
      <LogFilters value={filters} onChange={setFilters} />
      <ErrorMessage error={error} testid="logs-error" />
      <div class="log-list" ref={listRef} data-testid="logs">
        {rows.length === 0 && <p class="empty">{nothingChosen ? 'Tick at least one level and one source.' : 'No log entries match.'}</p>}
        {rows.map((row) => (
          <div
            key={row.id}
            class={`log-row log-${row.type.toLowerCase()}`}
            data-id={row.id}
            data-level={row.type}
            data-source={row.source}
            data-testid="log-row"
          >
            <span class="log-time" title={row.timestamp}>
              {formatClock(row.timestamp)}
            </span>
            <Badge tone={LEVEL_TONES[row.type] ?? 'muted'}>{row.type}</Badge>
            <span class="log-source">{row.source}</span>
            <LogMessage row={row} />
          </div>
        ))}
      </div>
      <p class="muted small">
        {rows.length} entries{filters.follow ? ', following' : ''}
      </p>
    </div>
  )
}
