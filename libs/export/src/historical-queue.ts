import type { Queue } from 'bullmq'
import type Redis from 'ioredis'
import { createQueue, QUEUES } from '@plugin-server/core'

export interface HistoricalJobData {
  runId: number
}

/** A run's job id is fixed: adding it again (a second start, an exporter reconciling at start) makes no second job. */
export const historicalJobId = (runId: number): string => `hr-${runId}`

/**
 * Producer side of the historical runs queue. A run's job fails only on errors outside the run
 * (Postgres or Redis down); it is then retried every 5 s for well over an hour, and `ensure` (a
 * start of the same range, an exporter starting) retries it after that.
 */
export class HistoricalQueue {
  readonly queue: Queue<HistoricalJobData>

  constructor(connection: Redis, prefix: string) {
    this.queue = createQueue<HistoricalJobData>(QUEUES.exportHistorical, connection, prefix, {
      defaultJobOptions: {
        attempts: 1000,
        backoff: { type: 'fixed', delay: 5000 },
        removeOnComplete: { age: 24 * 3600 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    })
  }

  /** The run has a job that will run: added once, or retried if it failed or ended while the run is unfinished. */
  async ensure(runId: number): Promise<void> {
    const id = historicalJobId(runId)
    await this.queue.add('run', { runId }, { jobId: id })
    const job = await this.queue.getJob(id)
    const state = job ? await job.getState() : null
    if (job && (state === 'failed' || state === 'completed')) await job.retry(state).catch(() => undefined)
  }

  close(): Promise<void> {
    return this.queue.close()
  }
}
