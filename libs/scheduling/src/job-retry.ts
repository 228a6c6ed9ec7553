/** First retry after 5 s, doubling: 5 s, 10 s, 20 s … 2560 s; 10 retries span ≈ 85 min. */
export const JOB_RETRY_BASE_MS = 5_000
const JOB_RETRY_CAP_MS = 3_600_000

/** Delay before the retry that follows failed attempt `attempt` (1-based); TIME_SCALE shortens it in tests. */
export function jobRetryDelayMs(attempt: number, timeScale: number): number {
  return Math.round(Math.min(JOB_RETRY_BASE_MS * 2 ** (attempt - 1), JOB_RETRY_CAP_MS) / timeScale)
}
