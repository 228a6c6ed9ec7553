import type Redis from 'ioredis'
import { Counter, Gauge, Registry } from 'prom-client'
import { QUEUES, scheduledShardQueue } from './queues'
import { withTimeout } from './with-timeout'
import { BULLMQ_STATE_STRUCTURES, bullmqKeys } from './bullmq-internals'

/**
 * Queues whose depth every process reports: every queue of the fleet (libs/export's DELIVERIES_QUEUE
 * is QUEUES.exportDeliveries; a test checks that the two names agree).
 */
export const MONITORED_QUEUES: readonly string[] = Object.values(QUEUES)

/** MONITORED_QUEUES with `scheduled` replaced by its shards' queues when SCHEDULER_SHARDS is above 1. */
export function monitoredQueues(schedulerShards: number): string[] {
  const scheduled = Array.from({ length: schedulerShards }, (_, shard) => scheduledShardQueue(shard, schedulerShards))
  return MONITORED_QUEUES.flatMap((queue) => (queue === QUEUES.scheduled ? scheduled : [queue]))
}

const STATES = BULLMQ_STATE_STRUCTURES

export interface QueueDepth {
  queue: string
  counts: Record<(typeof STATES)[number]['state'], number>
  /** Seconds since the job at the head of the wait list became due; 0 when nothing waits. */
  oldestWaitingSeconds: number
  paused: boolean
}

/**
 * Reads every queue's depth in two pipelined round trips: counts plus the head of each wait list,
 * then those jobs' timestamps, in BullMQ's own layout (bullmq-internals.ts).
 */
export async function readQueueDepths(redis: Redis, prefix: string, queues: readonly string[], now = Date.now()): Promise<QueueDepth[]> {
  const first = redis.pipeline()
  for (const queue of queues) {
    const keys = bullmqKeys(prefix, queue)
    for (const { key, list } of STATES) {
      if (list) first.llen(keys.structure(key))
      else first.zcard(keys.structure(key))
    }
    first.lindex(keys.structure('wait'), -1)
    first.hexists(keys.meta(), 'paused')
  }
  const replies = (await first.exec()) ?? []
  const per = STATES.length + 2
  const value = (i: number): unknown => {
    const [err, result] = replies[i] ?? [null, null]
    if (err) throw err
    return result
  }
  const depths: QueueDepth[] = queues.map((queue, q) => {
    const counts = Object.fromEntries(STATES.map(({ state }, s) => [state, Number(value(q * per + s))])) as QueueDepth['counts']
    return { queue, counts, oldestWaitingSeconds: 0, paused: Number(value(q * per + STATES.length + 1)) === 1 }
  })
  const heads = queues.map((_, q) => value(q * per + STATES.length) as string | null)
  if (heads.every((h) => h === null)) return depths
  const second = redis.pipeline()
  queues.forEach((queue, q) => {
    if (heads[q] !== null) second.hmget(bullmqKeys(prefix, queue).job(heads[q] as string), 'timestamp', 'delay')
  })
  const times = (await second.exec()) ?? []
  let t = 0
  queues.forEach((_, q) => {
    if (heads[q] === null) return
    const [err, fields] = times[t++] ?? [null, null]
    const [timestamp, delay] = (err ? [] : (fields as (string | null)[])).map(Number)
    // A delayed or retried job is due at timestamp + delay; it has waited only since then.
    if (Number.isFinite(timestamp) && timestamp > 0) depths[q].oldestWaitingSeconds = Math.max(0, (now - timestamp - (delay || 0)) / 1000)
  })
  return depths
}

/**
 * Queue depth is a fleet-wide fact (every process reads the same Redis), registered in every role
 * so that it is still reported when a worker role is scaled to zero. Aggregate it with
 * `max by (queue, state)`, never `sum`. Redis is read at scrape time, at most once a second however
 * many gauges or scrapers ask; a Redis outage empties the gauges and counts an error rather than
 * failing the whole /metrics response.
 */
export function registerQueueDepthMetrics(registry: Registry, redis: () => Redis, prefix: string, queues: readonly string[] = MONITORED_QUEUES): void {
  let cached: { at: number; read: Promise<QueueDepth[] | null> } | null = null
  // A read that outlasts its scrape's 2 s goes on; the next scrapes wait on it rather than sending
  // another (a Redis that does not answer would otherwise queue one more read per scrape).
  let reading: Promise<QueueDepth[]> | null = null
  const errors = new Counter({
    name: 'queue_depth_read_errors_total',
    help: 'Scrapes at which the queue depth could not be read from Redis',
    registers: [registry],
  })
  const read = (): Promise<QueueDepth[] | null> => {
    const now = Date.now()
    if (!cached || now - cached.at > 1000) {
      reading ??= readQueueDepths(redis(), prefix, queues, now).finally(() => (reading = null))
      const promise = withTimeout(reading, 2000).catch(() => {
        errors.inc()
        return null
      })
      cached = { at: now, read: promise }
    }
    return cached.read
  }
  new Gauge({
    name: 'queue_jobs',
    help: 'Jobs in each BullMQ queue by state (fleet-wide; aggregate with max, not sum)',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset()
      for (const depth of (await read()) ?? []) for (const [state, count] of Object.entries(depth.counts)) this.set({ queue: depth.queue, state }, count)
    },
  })
  new Gauge({
    name: 'queue_oldest_waiting_seconds',
    help: 'Age of the job that has waited longest in the wait list of each queue (fleet-wide)',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset()
      for (const depth of (await read()) ?? []) this.set({ queue: depth.queue }, depth.oldestWaitingSeconds)
    },
  })
  new Gauge({
    name: 'queue_paused',
    help: '1 when the queue is paused (its jobs wait but no worker takes them)',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset()
      for (const depth of (await read()) ?? []) this.set({ queue: depth.queue }, depth.paused ? 1 : 0)
    },
  })
}
