import { Job, UnrecoverableError } from 'bullmq'

/**
 * A job whose hash Redis evicted (a maxmemory-policy other than noeviction) comes back from
 * moveToActive without its data: no attempt can bring it back, so it fails once, naming why,
 * instead of being retried for as long as its queue retries.
 */
export function assertJobData(job: Job, field: string, what: string): void {
  const data: unknown = job.data
  if (typeof data !== 'object' || data === null || !Array.isArray((data as Record<string, unknown>)[field])) {
    throw new UnrecoverableError(`job ${job.id} has no ${what}: its data is gone from Redis (evicted?)`)
  }
}
