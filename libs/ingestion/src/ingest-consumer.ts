import type { Worker } from 'bullmq'
import { createWorker, IngestBatch, QUEUES, RoleContext, RunningRole } from '@plugin-server/core'
import { Counter, Histogram } from 'prom-client'
import type { AfterStoreHook, BatchResult, BatchStep } from './interfaces'
import { IngestPipeline } from './ingest-pipeline'

/**
 * Consumes ingest batches at-least-once: a batch is acknowledged only after its rows are committed,
 * and a worker that dies holding one loses its lock, so another worker takes the batch over.
 */
export function startIngestConsumer(
  ctx: RoleContext,
  steps: BatchStep[] = [],
  afterStore: AfterStoreHook[] = [],
): RunningRole & { worker: Worker<IngestBatch, BatchResult> } {
  const { config, logger, registry } = ctx
  const pipeline = new IngestPipeline(ctx.pool(), steps, afterStore)
  const events = new Counter({ name: 'ingest_events_total', help: 'Events by outcome', labelNames: ['outcome'], registers: [registry] })
  const seconds = new Histogram({
    name: 'ingest_batch_seconds',
    help: 'Time to process and store one batch',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [registry],
  })
  const worker = createWorker<IngestBatch, BatchResult>(
    QUEUES.ingest,
    async (job) => {
      const timer = seconds.startTimer()
      const result = await pipeline.process(job.data, job.id ?? 'unknown')
      timer()
      events.inc({ outcome: 'stored' }, result.stored)
      events.inc({ outcome: 'duplicate' }, result.duplicates)
      events.inc({ outcome: 'dropped' }, result.dropped)
      return result
    },
    ctx.redis('ingest-worker'),
    config.queuePrefix,
    {
      concurrency: config.ingest.concurrency,
      lockDuration: config.ingest.lockDurationMs,
      stalledInterval: Math.max(1000, Math.floor(config.ingest.lockDurationMs / 2)),
      // A batch stalls only when its worker died; under repeated crashes it must be retried, not failed.
      maxStalledCount: 100,
    },
  )
  worker.on('failed', (job, err) => {
    logger.error({ job_id: job?.id, attempts: job?.attemptsMade, err: err.message }, 'ingest batch failed, will retry with backoff')
  })
  worker.on('error', (err) => logger.warn({ err: err.message }, 'ingest worker error'))
  return {
    worker,
    closers: [{ name: 'ingest worker', close: () => worker.close() }],
    checks: [
      {
        name: 'ingest worker',
        check: async () => {
          if (!worker.isRunning()) throw new Error('ingest worker is not running')
        },
      },
    ],
  }
}
