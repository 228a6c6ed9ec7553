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

/** Whether retry number `retry` may be scheduled now, given when the first attempt ran. */
export function mayRetry(retry: number, firstAttemptAt: number, now: number, timeScale = 1): boolean {
  return retry <= MAX_RETRIES && now + retryDelayMs(retry, timeScale) - firstAttemptAt <= RETRY_HORIZON_MS / timeScale
}
