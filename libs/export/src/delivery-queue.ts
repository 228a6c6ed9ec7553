import { Queue } from 'bullmq'
import type Redis from 'ioredis'
import type { DeliveryJobData } from './interfaces'
import { DELIVERIES_QUEUE, exportKeys, ExportKeys } from './keys'

export interface NewDelivery {
  /** Deterministic, so adding the same delivery twice (a redelivered hand-off, a retried flush) makes one job. */
  jobId: string
  data: DeliveryJobData
}

/**
 * Producer side of the deliveries queue. Retries are decided by the processor (RetryError only,
 * 15 within 24 h), so BullMQ's own attempt limit is only a backstop. Delivered jobs keep a stub
 * (no events) for an hour: long enough for a late duplicate add with the same id to be ignored.
 */
export class DeliveryQueue {
  readonly queue: Queue<DeliveryJobData>
  private readonly keys: ExportKeys

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.queue = new Queue<DeliveryJobData>(DELIVERIES_QUEUE, {
      connection: redis,
      prefix,
      defaultJobOptions: {
        attempts: 1000,
        backoff: { type: 'export-retry' },
        removeOnComplete: { age: 3600 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    })
    this.keys = exportKeys(prefix)
  }

  async add(deliveries: readonly NewDelivery[]): Promise<void> {
    if (deliveries.length === 0) return
    await this.queue.addBulk(deliveries.map((d) => ({ name: d.data.method, data: d.data, opts: { jobId: d.jobId } })))
    // After the add: a crash in between only leaves the status without this job, never a phantom one.
    const now = Date.now()
    const multi = this.redis.multi()
    for (const d of deliveries) multi.zadd(this.keys.pending(d.data.configId), 'NX', now, d.jobId)
    await multi.exec()
  }

  close(): Promise<void> {
    return this.queue.close()
  }
}
