import { randomUUID } from 'node:crypto'
import type { Queue } from 'bullmq'
import type { IngestBatch, IngestEvent } from './interfaces'
import { QueueBacklogError } from './queue-backlog-error'

export interface BatcherLimits {
  maxEvents: number
  maxBytes: number
  maxWaitMs: number
  /**
   * Bytes of events sent to the queue and not yet acknowledged past which `add` refuses at once
   * (QueueBacklogError); 0 or absent: no bound.
   */
  maxUnacknowledgedBytes?: number
}

interface OpenBatch {
  events: IngestEvent[]
  bytes: number
  done: Promise<void>
  settle: (err?: Error) => void
}

/**
 * Gathers events from concurrent requests into ingest jobs bounded by count, size and a few
 * milliseconds of waiting: one job per event would make Redis the bottleneck. A request's promise
 * settles only once every batch holding its events is stored in Redis.
 */
export class EventBatcher {
  private open: OpenBatch | null = null
  private timer: NodeJS.Timeout | null = null
  private readonly inFlight = new Set<Promise<void>>()
  /** What the batches in `inFlight` hold. */
  private unacknowledgedBytes = 0

  constructor(
    private readonly queue: Queue<IngestBatch>,
    private readonly limits: BatcherLimits,
  ) {}

  /**
   * `sizes`: the events' serialized sizes when the caller has them already. Refused at once while the
   * queue has not acknowledged `maxUnacknowledgedBytes`: a Redis that stalls (paused, blackholed,
   * slower than the traffic) leaves each add unsettled, its caller answered 503 after its timeout,
   * and its events in this process for as long as the stall lasts, every retry adding more.
   */
  add(events: readonly IngestEvent[], sizes?: readonly number[]): Promise<void> {
    const limit = this.limits.maxUnacknowledgedBytes ?? 0
    if (limit > 0 && this.unacknowledgedBytes >= limit) return Promise.reject(new QueueBacklogError(this.unacknowledgedBytes, limit))
    const waits = new Set<Promise<void>>()
    for (const [i, event] of events.entries()) {
      const bytes = sizes?.[i] ?? Buffer.byteLength(JSON.stringify(event))
      if (this.open && this.open.events.length > 0 && this.open.bytes + bytes > this.limits.maxBytes) this.flush()
      const batch = (this.open ??= this.newBatch())
      batch.events.push(event)
      batch.bytes += bytes
      waits.add(batch.done)
      if (batch.events.length >= this.limits.maxEvents || batch.bytes >= this.limits.maxBytes) this.flush()
    }
    if (this.open && !this.timer) this.timer = setTimeout(() => this.flush(), this.limits.maxWaitMs)
    return Promise.all(waits).then(() => undefined)
  }

  /** Sends what is gathered and waits for every batch already sent. */
  async drain(): Promise<void> {
    this.flush()
    await Promise.allSettled([...this.inFlight])
  }

  private newBatch(): OpenBatch {
    let settle!: (err?: Error) => void
    const done = new Promise<void>((resolve, reject) => {
      settle = (err) => (err ? reject(err) : resolve())
    })
    // A batch nobody awaits any more (its request timed out) must not become an unhandled rejection.
    done.catch(() => undefined)
    return { events: [], bytes: 0, done, settle }
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const batch = this.open
    this.open = null
    if (!batch || batch.events.length === 0) return
    this.unacknowledgedBytes += batch.bytes
    const sending = this.queue.add('batch', { events: batch.events }, { jobId: `b-${randomUUID()}` }).then(
      () => batch.settle(),
      (err: Error) => batch.settle(err),
    )
    this.inFlight.add(sending)
    void sending.finally(() => {
      this.inFlight.delete(sending)
      this.unacknowledgedBytes -= batch.bytes
    })
  }
}
