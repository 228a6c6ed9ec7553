/** What of a BullMQ queue this needs. */
interface JobCounts {
  getJobCounts(...types: Array<'wait' | 'active' | 'delayed' | 'prioritized' | 'waiting-children'>): Promise<Record<string, number>>
}

/**
 * `check`, asked only once `queue` has nothing waiting, running or delayed. The benches' checks
 * count stored rows, a count(*) over everything stored so far: polled every 50 ms through a whole
 * drain it took Postgres CPU from the pipeline being measured, and more from a slower variant (its
 * drain is longer, its table bigger). Asked only at the end, it costs one count or a few.
 */
export function onceQueueIdle(queue: JobCounts, check: () => Promise<boolean>): () => Promise<boolean> {
  return async () => {
    const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children')
    return Object.values(counts).every((n) => n === 0) && (await check())
  }
}
