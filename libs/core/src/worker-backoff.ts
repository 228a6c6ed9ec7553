import type { Worker } from 'bullmq'
import { isRedisRefusal } from './redis'
import type { Logger } from './logger'

export interface WorkerBackoff {
  /** The pause after a first error; each error right after a resume doubles it. */
  firstDelayMs: number
  maxDelayMs: number
  /** At most one error line per worker per interval, the next one counting those left out. */
  logIntervalMs: number
}

export const WORKER_BACKOFF: WorkerBackoff = { firstDelayMs: 1000, maxDelayMs: 30_000, logIntervalMs: 10_000 }

/**
 * A Redis that refuses writes (READONLY after a failover, OOM at maxmemory) fails every fetch of a
 * BullMQ worker with an error that is not a connection error, and BullMQ 6.7 then fetches again at
 * once (retryIfFailed with onlyEmitError, no delay): with a backlog, a core spinning and ~100 000
 * error events in 15 s. Such a refusal (isRedisRefusal) pauses the worker (its jobs in flight go
 * on) and resumes it after a delay doubling up to maxDelayMs; errors log once per interval. Other
 * errors are only logged: BullMQ already waits for a lost connection to come back, and a lost lock
 * or a reset is one job's or one connection's, not a reason to stop taking jobs.
 */
export function superviseWorker<Data, Result>(worker: Worker<Data, Result>, logger: Logger, backoff: WorkerBackoff = WORKER_BACKOFF): void {
  const queue = worker.name
  let delayMs = 0
  let resumedAt = 0
  let resumeTimer: NodeJS.Timeout | null = null
  let logWindow: NodeJS.Timeout | null = null
  let suppressed = 0
  let lastSuppressed = ''
  let closing = false

  /** Logs the count of the window's errors left out; a window with some opens another. */
  const endLogWindow = (another = true) => {
    logWindow = null
    if (suppressed === 0) return
    logger.warn(
      { queue, err: lastSuppressed, suppressed, interval_ms: backoff.logIntervalMs },
      `queue worker error: ${suppressed} more in the last ${backoff.logIntervalMs} ms, not logged one by one`,
    )
    suppressed = 0
    if (another) logWindow = setTimeout(endLogWindow, backoff.logIntervalMs).unref()
  }

  worker.on('error', (err: Error) => {
    const pause = !closing && resumeTimer === null && isRedisRefusal(err)
    if (pause) {
      // Failing again right after a resume: Redis still refuses, wait longer. After a quiet spell, start over.
      delayMs = Date.now() - resumedAt > backoff.maxDelayMs ? backoff.firstDelayMs : Math.min(backoff.maxDelayMs, delayMs * 2)
      void worker.pause(true)
      resumeTimer = setTimeout(() => {
        resumeTimer = null
        resumedAt = Date.now()
        if (!closing) void worker.resume()
      }, delayMs)
    }
    if (logWindow) {
      suppressed++
      lastSuppressed = err.message
      return
    }
    logger.warn(
      { queue, err: err.message, ...(pause ? { paused_ms: delayMs } : {}) },
      pause ? `queue worker error, pausing it for ${delayMs} ms` : 'queue worker error',
    )
    logWindow = setTimeout(endLogWindow, backoff.logIntervalMs).unref()
  })
  worker.on('closing', () => {
    closing = true
    if (resumeTimer) clearTimeout(resumeTimer)
    if (logWindow) clearTimeout(logWindow)
    // The errors of the last window are counted, not dropped.
    endLogWindow(false)
  })
}
