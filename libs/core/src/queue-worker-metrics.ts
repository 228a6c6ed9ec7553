import type { Job } from 'bullmq'
import { Counter, Histogram, Registry } from 'prom-client'

/** What the worker metrics need of a BullMQ Worker; any Worker<Data, Result, Name> fits. */
export interface ObservableWorker {
  readonly name: string
  on(event: 'completed', listener: (job: Job) => void): unknown
  on(event: 'failed', listener: (job: Job | undefined) => void): unknown
  on(event: 'stalled', listener: (jobId: string) => void): unknown
}

interface WorkerMetrics {
  processed: Counter<'queue' | 'outcome'>
  duration: Histogram<'queue' | 'outcome'>
}

// One set per registry, however many workers (or calls) report into it.
const byRegistry = new WeakMap<Registry, WorkerMetrics>()

function metricsFor(registry: Registry): WorkerMetrics {
  let metrics = byRegistry.get(registry)
  if (!metrics) {
    metrics = {
      processed: new Counter({
        name: 'queue_jobs_processed_total',
        help: 'Job attempts finished by this process, by queue and outcome (completed, failed, stalled)',
        labelNames: ['queue', 'outcome'],
        registers: [registry],
      }),
      duration: new Histogram({
        name: 'queue_job_duration_seconds',
        help: 'Time from an attempt being taken by a worker to its completion or failure',
        labelNames: ['queue', 'outcome'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
        registers: [registry],
      }),
    }
    byRegistry.set(registry, metrics)
  }
  return metrics
}

/** Registers the worker metrics so they are exported (with no samples) before any job ran. */
export function registerQueueWorkerMetrics(registry: Registry): void {
  metricsFor(registry)
}

/**
 * Counts a worker's finished attempts and their durations, per queue. Labels are only the queue and
 * the outcome (no job name, team or config) so the series stay few whatever the traffic; per-config
 * detail belongs to the role's own metrics (plugin_*, export_*, scheduler_*).
 */
export function observeQueueWorker(registry: Registry, worker: ObservableWorker): void {
  const { processed, duration } = metricsFor(registry)
  const queue = worker.name
  const observe = (outcome: 'completed' | 'failed', job: Job | undefined) => {
    processed.inc({ queue, outcome })
    if (job?.processedOn) duration.observe({ queue, outcome }, Math.max(0, ((job.finishedOn ?? Date.now()) - job.processedOn) / 1000))
  }
  worker.on('completed', (job) => observe('completed', job))
  worker.on('failed', (job) => observe('failed', job))
  worker.on('stalled', () => processed.inc({ queue, outcome: 'stalled' }))
}
