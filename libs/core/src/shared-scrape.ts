import { withTimeout } from './with-timeout'

/**
 * What gauges read from a store at scrape time share: each gauge's `collect` calls the returned
 * function (prom-client calls collect() once per gauge), which starts `read` once for all of them and
 * waits for it at most `timeoutMs`. A read that outlasts its scrape goes on, and later scrapes wait on
 * it instead of starting another (a slow store would otherwise get one more read per scrape). A read
 * that fails or times out calls `failed`: reset the gauges, count the miss.
 */
export function sharedScrape(read: () => Promise<void>, timeoutMs: number, failed: () => void): () => Promise<void> {
  let reading: Promise<void> | null = null
  let collecting: Promise<void> | null = null
  return async () => {
    reading ??= read().finally(() => (reading = null))
    collecting ??= withTimeout(reading, timeoutMs)
      .catch(failed)
      .finally(() => setTimeout(() => (collecting = null), 0))
    await collecting
  }
}
