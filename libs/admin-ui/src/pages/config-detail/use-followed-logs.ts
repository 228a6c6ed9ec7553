import { useEffect, useState } from 'preact/hooks'
import type { ApiError } from '../../api/client'
import { api } from '../../api/endpoints'
import type { LogQuery, LogRow } from '../../api/types'
import { toApiError } from '../../lib/use-async'

const INITIAL_ROWS = 100
/** Older rows are dropped past this, so following for hours does not grow the page without bound. */
const MAX_ROWS = 2000
/** How long the server may hold a follow request open waiting for a row (it allows up to 30 s). */
const WAIT_SECONDS = 25
/** An empty answer that came back sooner than this (a server without long-polls, or one shutting down) is not asked again at once. */
const MIN_GAP_MS = 1000
const RETRY_MS = 3000

/** Which query the rows were loaded for, and the id of the newest row shown (the follow cursor). */
interface Loaded {
  key: string
  cursor: { id: number }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
  })
}

/**
 * The newest rows matching `query` (null: nothing to ask for), then, while `follow`, the rows
 * after the newest one shown, by long-poll. Every page is oldest first, so rows are appended as
 * they come and the list reads top to bottom, newest last, without a row twice.
 */
export function useFollowedLogs(configId: number, query: LogQuery | null, follow: boolean): { rows: LogRow[]; error: ApiError | null } {
  const [rows, setRows] = useState<LogRow[]>([])
  const [error, setError] = useState<ApiError | null>(null)
  const [loaded, setLoaded] = useState<Loaded | null>(null)
  const key = JSON.stringify([configId, query])

  useEffect(() => {
    setRows([])
    setError(null)
    setLoaded(null)
    if (!query) return
    const controller = new AbortController()
    api.logs(configId, { ...query, limit: INITIAL_ROWS }, controller.signal).then(
      (latest) => {
        if (controller.signal.aborted) return
        setRows(latest)
        setLoaded({ key, cursor: { id: latest.length > 0 ? latest[latest.length - 1].id : 0 } })
      },
      (err: unknown) => {
        if (!controller.signal.aborted) setError(toApiError(err))
      },
    )
    return () => controller.abort()
  }, [key])

  useEffect(() => {
    if (!follow || !query || loaded?.key !== key) return
    const { cursor } = loaded
    const controller = new AbortController()
    const { signal } = controller
    void (async () => {
      while (!signal.aborted) {
        const started = Date.now()
        let wait = 0
        try {
          const newer = await api.logs(configId, { ...query, after: cursor.id, wait: WAIT_SECONDS, limit: 1000 }, signal)
          if (signal.aborted) return
          const fresh = newer.filter((row) => row.id > cursor.id)
          if (fresh.length > 0) {
            cursor.id = fresh[fresh.length - 1].id
            setRows((old) => [...old, ...fresh].slice(-MAX_ROWS))
          } else if (Date.now() - started < MIN_GAP_MS) {
            wait = MIN_GAP_MS
          }
          setError(null)
        } catch (err) {
          if (signal.aborted) return
          setError(toApiError(err))
          wait = RETRY_MS
        }
        if (wait > 0) await pause(wait, signal)
      }
    })()
    return () => controller.abort()
  }, [key, loaded, follow])

  return { rows, error }
}
