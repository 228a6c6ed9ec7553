import type { Queue } from 'bullmq'
import type Redis from 'ioredis'

/**
 * The only place that reads BullMQ's own Redis layout, for what its public API does not offer
 * (pipelined depth reads across queues, a job's existence in bulk, the stored successor of a
 * deduplicated job). Written against this BullMQ version; test/src/core/bullmq-internals.test.ts
 * fails when another one is installed, so an upgrade re-checks these reads against the new layout.
 */
export const BULLMQ_INTERNALS_VERSION = '6.7.0'

/** BullMQ 6 job states and the Redis structure holding each (lists are LLEN'd, sorted sets ZCARD'd). */
export const BULLMQ_STATE_STRUCTURES = [
  { state: 'waiting', key: 'wait', list: true },
  { state: 'active', key: 'active', list: true },
  { state: 'prioritized', key: 'prioritized', list: false },
  { state: 'delayed', key: 'delayed', list: false },
  { state: 'failed', key: 'failed', list: false },
  { state: 'waiting-children', key: 'waiting-children', list: false },
] as const

/**
 * Keys BullMQ builds under `<prefix>:<queue>:`: a state's structure (`wait` is a list jobs are
 * LPUSHed onto and taken from the right; KEDA's Redis list trigger reads it too), the queue's meta
 * hash (`paused` field) and a job's hash (`timestamp`, `delay`).
 */
export const bullmqKeys = (prefix: string, queue: string) => ({
  structure: (name: string) => `${prefix}:${queue}:${name}`,
  meta: () => `${prefix}:${queue}:meta`,
  job: (jobId: string) => `${prefix}:${queue}:${jobId}`,
})

/** The field a job's hash gets once the job has completed or failed for good (never while it waits, runs or awaits a retry). */
export const BULLMQ_JOB_FINISHED_FIELD = 'finishedOn'

/** Whether each job's hash exists, in one round trip (Queue#getJob would read each whole job). */
export async function jobsExist(redis: Redis, queue: Queue, jobIds: readonly string[]): Promise<boolean[]> {
  if (jobIds.length === 0) return []
  const pipeline = redis.pipeline()
  for (const id of jobIds) pipeline.exists(queue.toKey(id))
  const replies = (await pipeline.exec()) ?? []
  return jobIds.map((_, i) => replies[i]?.[1] === 1)
}

/**
 * Each job's data as BullMQ stored it (the `data` field of its hash, JSON text; null when the job is
 * gone), in one round trip: Queue#getJob would read each whole job, one round trip each.
 */
export async function jobsData(redis: Redis, queue: Queue, jobIds: readonly string[]): Promise<(string | null)[]> {
  if (jobIds.length === 0) return []
  const pipeline = redis.pipeline()
  for (const id of jobIds) pipeline.hget(queue.toKey(id), 'data')
  const replies = (await pipeline.exec()) ?? []
  return jobIds.map((_, i) => (typeof replies[i]?.[1] === 'string' ? (replies[i][1] as string) : null))
}

/**
 * Queue#getDeduplicationJobId for many ids in one round trip (it reads `de:<id>`): the scheduler
 * checks every chain on each reconcile, and one GET per chain is thousands of round trips.
 */
export async function deduplicationJobIds(redis: Redis, queue: Queue, deduplicationIds: readonly string[]): Promise<(string | null)[]> {
  if (deduplicationIds.length === 0) return []
  const pipeline = redis.pipeline()
  for (const id of deduplicationIds) pipeline.get(queue.toKey(`de:${id}`))
  const replies = (await pipeline.exec()) ?? []
  return deduplicationIds.map((_, i) => (typeof replies[i]?.[1] === 'string' ? (replies[i][1] as string) : null))
}

/**
 * Drops the job BullMQ stored to follow an active deduplicated one (`dn:<id>`, re-queued when the
 * active job finishes). BullMQ 6.7 has no public call for it; removeDeduplicationKey drops only `de:`.
 */
export async function dropDeduplicatedSuccessor(redis: Redis, queue: Queue, deduplicationId: string): Promise<void> {
  await redis.del(successorKey(queue, deduplicationId))
}

/** Whether BullMQ holds a successor for the active deduplicated job (`dn:<id>`, what dropDeduplicatedSuccessor drops). */
export async function hasDeduplicatedSuccessor(redis: Redis, queue: Queue, deduplicationId: string): Promise<boolean> {
  return (await redis.exists(successorKey(queue, deduplicationId))) === 1
}

/** Where BullMQ 6.7 stores the job that follows an active deduplicated one. */
function successorKey(queue: Queue, deduplicationId: string): string {
  return queue.toKey(`dn:${deduplicationId}`)
}

/** The part of a BullMQ 6.7 Worker that setWorkerConcurrency uses: the public setter and the main loop's private queue. */
interface WorkerLoop {
  concurrency: number
  mainLoopQueue?: { add(promise: Promise<unknown>): void } | null
}

/**
 * Sets a worker's concurrency so that a raise takes effect at once. BullMQ's setter only stores the
 * number: a worker whose slots are all busy sleeps in its main loop until one of its jobs ends, so a
 * raise made because those jobs are stuck would wait for them. A settled promise added to the loop's
 * queue wakes it to fetch up to the new number, as BullMQ's own resume() does.
 */
export function setWorkerConcurrency(worker: { concurrency: number }, concurrency: number): void {
  const raised = concurrency > worker.concurrency
  worker.concurrency = concurrency
  if (raised) (worker as WorkerLoop).mainLoopQueue?.add(Promise.resolve())
}
