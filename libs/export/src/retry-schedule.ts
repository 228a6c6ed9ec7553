/**
 * RetryError schedule: retry n (1…15) waits 2 s × 2^(n−1): 2 s, 4 s … 32 768 s (9 h 6 min). The 15
 * delays sum to 65 534 s (18 h 12 min), so the last retry starts within 24 h of the first attempt
 * even with slow attempts; a retry that would start past the horizon is not made (dead letter).
 * `timeScale` divides delays and horizon (tests).
 */
export const RETRY_BASE_MS = 2000
export const MAX_RETRIES = 15
export const RETRY_HORIZON_MS = 24 * 3600 * 1000

export function retryDelayMs(retry: number, timeScale = 1): number {
  return Math.round((RETRY_BASE_MS * 2 ** (retry - 1)) / timeScale)
}

/**
 * When the exporter itself failed (Redis or Postgres away) or a config is not set up yet: 2 s more
 * per attempt, at most a minute. Delivery jobs have 1 000 attempts: at the first delay each they
 * ran out in 33 minutes and the batch was lost without a dead letter; this way it takes ~16 hours.
 */
export const EXPORTER_RETRY_MAX_MS = 60_000

export function exporterRetryDelayMs(attempt: number, timeScale = 1): number {
  return Math.round(Math.min(EXPORTER_RETRY_MAX_MS, RETRY_BASE_MS * Math.max(1, attempt)) / timeScale)
}

/** Whether retry number `retry` may be scheduled now, given when the first attempt ran. */
export function mayRetry(retry: number, firstAttemptAt: number, now: number, timeScale = 1): boolean {
  return retry <= MAX_RETRIES && now + retryDelayMs(retry, timeScale) - firstAttemptAt <= RETRY_HORIZON_MS / timeScale
}
