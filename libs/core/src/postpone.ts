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

/**
 * How long to put a job back when it cannot run yet (its team or config at its share): `baseMs` the
 * first time, twice that each time it is put back again (its starts that ended neither in a failure
 * nor a retry, which BullMQ counts for us: put-backs for any reason, and stalls), at most `maxMs`, give or take a quarter so such jobs
 * spread out. At a fixed delay, a busy team's backlog (a job split off every capture batch) was
 * fetched and put back once per delay each, and every other team's jobs waited behind those passes.
 */
export function putBackDelayMs(job: Pick<Job, 'attemptsStarted' | 'attemptsMade'>, baseMs: number, maxMs: number, random = Math.random()): number {
  return doublingDelayMs(Math.max(0, job.attemptsStarted - job.attemptsMade - 1), baseMs, maxMs, random)
}

/** `baseMs` after none before, twice that after each one, at most `maxMs`, give or take a quarter. */
export function doublingDelayMs(before: number, baseMs: number, maxMs: number, random = Math.random()): number {
  return Math.round(Math.min(maxMs, baseMs * 2 ** Math.min(before, 16)) * (0.75 + random / 2))
}
