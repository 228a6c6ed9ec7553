import { Job, JobsOptions, Queue, QueueOptions, UnrecoverableError, Worker, WorkerOptions, Processor } from 'bullmq'
import type Redis from 'ioredis'
import type { ExportBatch, IngestBatch, PluginJobData } from './interfaces'
import type { Logger } from './logger'
import type { StuckSlots } from './stuck-slots'
import { superviseWorker, WORKER_BACKOFF, WorkerBackoff } from './worker-backoff'

/** Every BullMQ queue of the fleet, named once so producers and consumers cannot drift apart. */
export const QUEUES = {
  ingest: 'ingest',
  export: 'export',
  scheduled: 'scheduled',
  jobs: 'jobs',
  /** The exporter's own: one job per flushed exportEvents batch or per-event delivery. */
  exportDeliveries: 'export-deliveries',
  /** The exporter's own: one job per historical export run, driven page by page by one exporter at a time. */
  exportHistorical: 'export-historical',
} as const

/** Shard `shard` of the scheduler's chains: the `scheduled` queue itself when there is one shard. */
export function scheduledShardQueue(shard: number, shards: number): ScheduledShardQueueName {
  return shards === 1 ? QUEUES.scheduled : `${QUEUES.scheduled}-${shard}`
}

export type ScheduledShardQueueName = typeof QUEUES.scheduled | `${typeof QUEUES.scheduled}-${number}`

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES] | ScheduledShardQueueName

export function createQueue<Data>(name: QueueName, connection: Redis, prefix: string, options: Partial<QueueOptions> = {}): Queue<Data> {
  return new Queue<Data>(name, { connection, prefix, ...options })
}

/**
 * Every role's BullMQ workers come from here, so each logs its errors and backs off from a Redis
 * refusing writes the same way (superviseWorker); `backoff` is for tests. With `stuck`, a job that
 * runs longer than its `afterMs` stops counting against `concurrency`, up to `maxExtra` such jobs; one StuckSlots per worker.
 */
export function createWorker<Data, Result = void>(
  name: QueueName,
  processor: Processor<Data, Result>,
  connection: Redis,
  prefix: string,
  logger: Logger,
  options: Partial<WorkerOptions> & { stuck?: StuckSlots } = {},
  backoff: WorkerBackoff = WORKER_BACKOFF,
): Worker<Data, Result> {
  const { stuck, ...workerOptions } = options
  const run: Processor<Data, Result> = stuck?.lends ? (job, token, signal) => stuck.run(() => processor(job, token, signal)) : processor
  const worker = new Worker<Data, Result>(name, run, { connection, prefix, ...workerOptions })
  stuck?.attach(worker)
  superviseWorker(worker, logger, backoff)
  return worker
}

/**
 * Ingest batches are retried with backoff for long enough to ride out a Postgres outage; a batch
 * that still fails stays in the failed set (a week) for an operator to retry, it is never dropped.
 */
export function createIngestQueue(connection: Redis, config: { queuePrefix: string; ingest: { attempts: number } }): Queue<IngestBatch> {
  return createQueue<IngestBatch>(QUEUES.ingest, connection, config.queuePrefix, { defaultJobOptions: durableJobOptions(config.ingest.attempts) })
}

/**
 * Whether a worker's 'failed' event left the job in the failed set: an UnrecoverableError, or its
 * last attempt. BullMQ sends the same event for an attempt it will retry, so a log line that says
 * which must ask (a batch out of attempts had been logged as "will retry").
 */
export function failedForGood(job: Pick<Job, 'attemptsMade' | 'opts'> | undefined, err: Error): boolean {
  return err instanceof UnrecoverableError || (job !== undefined && job.attemptsMade >= (job.opts.attempts ?? 1))
}

/** How long an ingest batch that kept failing stays in the failed set, for an operator to retry. */
export const FAILED_INGEST_JOB_KEPT_SECONDS = 7 * 24 * 3600

function durableJobOptions(attempts: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { age: FAILED_INGEST_JOB_KEPT_SECONDS },
  }
}

/** A first try and up to 10 retries after RetryError; the delays are the job-worker's (custom backoff). */
export const PLUGIN_JOB_ATTEMPTS = 11
export const PLUGIN_JOB_BACKOFF = 'plugin-job-retry'

/** Plugin jobs: delayed until their time; how RetryError retries them is the job-worker's business. */
export function createPluginJobsQueue(connection: Redis, config: { queuePrefix: string }): Queue<PluginJobData> {
  return createQueue<PluginJobData>(QUEUES.jobs, connection, config.queuePrefix, {
    defaultJobOptions: {
      attempts: PLUGIN_JOB_ATTEMPTS,
      backoff: { type: PLUGIN_JOB_BACKOFF },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
      // BullMQ appends a stack per attempt otherwise: 11 of them in a job kept 7 days, outside what its
      // team's account holds for it (pluginJobReservedBytes counts one).
      stackTraceLimit: 1,
    },
  })
}

/** Hand-offs from ingestion to the exporters: retried like ingest batches, never dropped. */
export function createExportQueue(connection: Redis, config: { queuePrefix: string; ingest: { attempts: number } }): Queue<ExportBatch> {
  return createQueue<ExportBatch>(QUEUES.export, connection, config.queuePrefix, { defaultJobOptions: durableJobOptions(config.ingest.attempts) })
}
