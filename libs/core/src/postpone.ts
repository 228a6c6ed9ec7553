import { DelayedError, Job } from 'bullmq'

/**
 * Puts a job being processed back in the delayed set for `delayMs` without spending one of its
 * attempts (not a failure: its team or config is at its share, or not ready). BullMQ needs the
 * DelayedError this throws, so the processor returns through it.
 */
export async function postpone(job: Job, delayMs: number, token: string | undefined, reason?: string): Promise<never> {
  await job.moveToDelayed(Date.now() + delayMs, token)
  throw new DelayedError(reason)
}
