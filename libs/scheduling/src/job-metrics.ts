import { Counter, Histogram, Registry } from 'prom-client'

export interface JobMetrics {
  jobs: Counter<'outcome'>
  durationSeconds: Histogram
  startDelaySeconds: Histogram
}

export function createJobMetrics(registry: Registry): JobMetrics {
  return {
    jobs: new Counter({
      name: 'plugin_jobs_total',
      help: 'Plugin job attempts by outcome: success, retry (RetryError, retried with backoff), failed (other error or retries exhausted), dropped (config disabled or deleted), postponed (the server failed to read or load the config: put back, not an attempt)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    durationSeconds: new Histogram({
      name: 'plugin_job_duration_seconds',
      help: 'Duration of one plugin job attempt',
      buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
    startDelaySeconds: new Histogram({
      name: 'plugin_job_start_delay_seconds',
      help: 'How late a job attempt started after the time it was due (runNow/runAt/runIn, or its retry time)',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30],
      registers: [registry],
    }),
  }
}
