import { useEffect, useRef, useState } from 'preact/hooks'
import type { ApiError } from '../../api/client'
import { api } from '../../api/endpoints'
import { LOG_LEVELS, LOG_SOURCES, LogQuery, LogRow } from '../../api/types'
import { Badge, Tone } from '../../components/badge'
import { ErrorMessage } from '../../components/error-message'
import { formatClock } from '../../lib/format'
import { useDebounced } from '../../lib/use-debounced'
import { toApiError } from '../../lib/use-async'
import { LogFilterState, LogFilters } from './log-filters'

const FOLLOW_MS = 1000
const INITIAL_ROWS = 100
/** Older rows are dropped past this, so following for hours does not grow the page without bound. */
const MAX_ROWS = 2000

const LEVEL_TONES: Record<string, Tone> = { ERROR: 'error', WARN: 'warn', INFO: 'info' }

/** Every box ticked is no filter at all, which the server answers fastest. */
function filterOf(chosen: string[], all: readonly string[]): string[] {
  return chosen.length === all.length ? [] : chosen
}

export function LogsTab({ configId }: { configId: number }) {
  const [filters, setFilters] = useState<LogFilterState>({ levels: [...LOG_LEVELS], sources: [...LOG_SOURCES], search: '', follow: true })
  const search = useDebounced(filters.search.trim(), 300)
  const [rows, setRows] = useState<LogRow[]>([])
  const [error, setError] = useState<ApiError | null>(null)
  const followRef = useRef(filters.follow)
  followRef.current = filters.follow
  const listRef = useRef<HTMLDivElement>(null)

  const levels = filterOf(filters.levels, LOG_LEVELS)
  const sources = filterOf(filters.sources, LOG_SOURCES)
  const nothingChosen = filters.levels.length === 0 || filters.sources.length === 0
  const queryKey = JSON.stringify([levels, sources, search, nothingChosen])

  // Any filter change starts over: the latest rows that match, then only newer ones while following.
  useEffect(() => {
    let cancelled = false
    let timer: ReturnType<typeof setTimeout> | undefined
    let lastId = 0
    const query: LogQuery = { levels, sources, search }
    setRows([])
    setError(null)
    if (nothingChosen) return
    const poll = async () => {
      if (followRef.current) {
        try {
          const newer = await api.logs(configId, { ...query, after: lastId })
          if (cancelled) return
          if (newer.length > 0) {
            lastId = newer[newer.length - 1].id
            setRows((old) => [...old, ...newer].slice(-MAX_ROWS))
          }
          setError(null)
        } catch (err) {
          if (!cancelled) setError(toApiError(err))
        }
      }
      if (!cancelled) timer = setTimeout(poll, FOLLOW_MS)
    }
    api.logs(configId, { ...query, limit: INITIAL_ROWS }).then(
      (latest) => {
        if (cancelled) return
        // The API answers newest first; the view reads top to bottom, newest last.
        const ordered = [...latest].reverse()
        lastId = ordered.length > 0 ? ordered[ordered.length - 1].id : 0
        setRows(ordered)
        timer = setTimeout(poll, FOLLOW_MS)
      },
      (err: unknown) => {
        if (!cancelled) setError(toApiError(err))
      },
    )
    return () => {
      cancelled = true
      clearTimeout(timer)
    }
  }, [configId, queryKey])

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
          <div key={row.id} class={`log-row log-${row.type.toLowerCase()}`} data-level={row.type} data-source={row.source} data-testid="log-row">
            <span class="log-time" title={row.timestamp}>
              {formatClock(row.timestamp)}
            </span>
            <Badge tone={LEVEL_TONES[row.type] ?? 'muted'}>{row.type}</Badge>
            <span class="log-source">{row.source}</span>
            <span class="log-message">{row.message}</span>
          </div>
        ))}
      </div>
      <p class="muted small">
        {rows.length} entries{filters.follow ? ', following' : ''}
      </p>
    </div>
  )
}
