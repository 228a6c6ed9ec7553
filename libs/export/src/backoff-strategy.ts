import type { MinimalJob } from 'bullmq'
import type { DeliveryJobData } from './interfaces'
import { exporterRetryDelayMs, retryDelayMs } from './retry-schedule'

/** Thrown by the processor to schedule the next RetryError attempt. */
export class RetryScheduled extends Error {
  override name = 'RetryScheduled'
}

/**
 * BullMQ asks this for the delay before the next attempt. A scheduled retry has recorded its attempt
 * on the job, so the number of recorded attempts is the retry number; a failure of the exporter
 * itself (Redis or Postgres down) is tried again 2 s later per attempt made, at most a minute apart.
 */
export function exportBackoffStrategy(timeScale: number) {
  return (attemptsMade: number, _type?: string, err?: Error, job?: MinimalJob<DeliveryJobData>): number => {
    if (err?.name !== 'RetryScheduled') return exporterRetryDelayMs(attemptsMade, timeScale)
    return retryDelayMs(Math.max(1, job?.data?.attempts?.length ?? 1), timeScale)
  }
}
