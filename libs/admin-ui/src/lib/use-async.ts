import { useCallback, useEffect, useState } from 'preact/hooks'
import { ApiError } from '../api/client'

export interface AsyncState<T> {
  data: T | undefined
  error: ApiError | null
  loading: boolean
  reload: () => void
}

export function toApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError(0, 'client_error', (err as Error).message)
}

/**
 * Loads when `deps` change and, with `refreshMs`, again that long after each answer: polls never
 * overlap, so a slow server is not asked twice at once. The last data stays shown while a refresh
 * fails, next to the error.
 */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[], refreshMs?: number): AsyncState<T> {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<ApiError | null>(null)
  const [loading, setLoading] = useState(true)
  const [nonce, setNonce] = useState(0)

  useEffect(() => {
    let cancelled = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const run = () => {
      setLoading(true)
      load()
        .then(
          (value) => {
            if (cancelled) return
            setData(value)
            setError(null)
          },
          (err: unknown) => {
            if (!cancelled) setError(toApiError(err))
          },
        )
        .finally(() => {
          if (cancelled) return
          setLoading(false)
          if (refreshMs !== undefined) timer = setTimeout(run, refreshMs)
        })
    }
    run()
    return () => {
      cancelled = true
      clearTimeout(timer)
    }
    // `load` is a new closure every render; callers list what it depends on in `deps`.
  }, [...deps, refreshMs, nonce])

  const reload = useCallback(() => setNonce((n) => n + 1), [])
  return { data, error, loading, reload }
}
