/**
 * setupPlugin throwing RetryError is tried again after 5 s, 10 s, 20 s … (doubling): attempt 10
 * starts 42 min 35 s after the first, inside the one hour the reference promises. `timeScale`
 * divides every delay (tests).
 */
export const SETUP_RETRY_BASE_MS = 5_000

export function setupRetryDelayMs(failedAttempt: number, timeScale = 1): number {
  return (SETUP_RETRY_BASE_MS * 2 ** (failedAttempt - 1)) / timeScale
}
