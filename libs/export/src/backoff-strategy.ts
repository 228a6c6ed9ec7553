import type { MinimalJob } from 'bullmq'
import type { DeliveryJobData } from './interfaces'
import { retryDelayMs } from './retry-schedule'

/** Thrown by the processor to schedule the next RetryError attempt. */
export class RetryScheduled extends Error {
  override name = 'RetryScheduled'
}

/**
 * BullMQ asks this for the delay before the next attempt. A scheduled retry has recorded its attempt
 * on the job, so the number of recorded attempts is the retry number; a failure of the exporter
 * itself (Redis or Postgres down, config not set up yet) is tried again after the first delay.
 */
export function exportBackoffStrategy(timeScale: number) {
  return (_attemptsMade: number, _type?: string, err?: Error, job?: MinimalJob<DeliveryJobData>): number => {
    const retries = err?.name === 'RetryScheduled' ? (job?.data?.attempts?.length ?? 1) : 1
    return retryDelayMs(Math.max(1, retries), timeScale)
  }
}
