import type { Job, Queue, Worker } from 'bullmq'
import {
  assertJobData,
  createIngestQueue,
  createWorker,
  failedForGood,
  IngestBatch,
  Logger,
  postpone,
  putBackDelayMs,
  QUEUES,
  RoleContext,
  RunningRole,
  StuckSlots,
} from '@plugin-server/core'
import { Counter, Histogram } from 'prom-client'
import type { AfterStoreHook, BatchResult, BatchStep } from './interfaces'
import { Admission, IngestPipeline, TeamPart } from './ingest-pipeline'
import { TeamBatchError } from './team-batch-error'
import { TeamBusyError } from './team-busy-error'
import { TeamGate } from './team-gate'

/**
 * Consumes ingest batches at-least-once: a team's events are acknowledged (with their batch) only
 * after they are committed, and a worker that dies holding a batch loses its lock, so another worker
 * takes it over. The teams stored by a failed attempt leave the batch before it is retried. A batch
 * of several teams that has failed INGEST_SPLIT_AFTER_ATTEMPTS times is split: the teams that
 * succeed are acknowledged with it, each team that still fails becomes an ingest job of its own, so a
 * poison team never holds another team's events back for the rest of the retries.
 *
 * A team has at most INGEST_TEAM_CONCURRENCY parts running in a worker (TeamGate). The part of a
 * team at its cap in a batch of several teams becomes an ingest job of its own at once, and a
 * batch of only that team goes back to the delayed set, so a team whose plugins are slow or stuck
 * never takes every slot of the worker. A batch that has run longer than INGEST_TEAM_WAIT_MS stops
 * counting against INGEST_CONCURRENCY (up to INGEST_STUCK_EXTRA_SLOTS such batches, core StuckSlots),
 * so two or three stuck teams, each at its cap, do not take every slot either.
 */
export function startIngestConsumer(
  ctx: RoleContext,
  steps: BatchStep[] = [],
  afterStore: AfterStoreHook[] = [],
): RunningRole & { worker: Worker<IngestBatch, BatchResult> } {
  const { config, logger, registry } = ctx
  const stageSeconds = new Histogram({
    name: 'ingest_stage_seconds',
    help: "Where a batch's time goes: waiting for its team's slot, the steps (plugins) of a pass, storing a part",
    labelNames: ['stage'],
    // A team's slot can be waited for, and its plugins run, for longer than 5 s (PLUGIN_PROCESS_EVENT_TIMEOUT_MS per plugin).
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 10, 30, 60],
    registers: [registry],
  })
  const pipeline = new IngestPipeline(ctx.pool(), steps, afterStore, (stage, s) => stageSeconds.observe({ stage }, s))
  const gate = new TeamGate(config.ingest.teamConcurrency, config.ingest.teamWaitMs)
  const requeue = createIngestQueue(ctx.newRedisConnection('ingest-requeue'), config)
  const events = new Counter({ name: 'ingest_events_total', help: 'Events by outcome', labelNames: ['outcome'], registers: [registry] })
  const seconds = new Histogram({
    name: 'ingest_batch_seconds',
    help: 'Time to process and store one batch',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 10, 30, 60],
    registers: [registry],
  })
  const count = (result: BatchResult, deferred: number): void => {
    events.inc({ outcome: 'stored' }, result.stored)
    events.inc({ outcome: 'duplicate' }, result.duplicates)
    events.inc({ outcome: 'dropped' }, result.dropped)
    events.inc({ outcome: 'deferred' }, deferred)
    events.inc({ outcome: 'requeued' }, result.requeued - deferred)
  }
  const worker = createWorker<IngestBatch, BatchResult>(
    QUEUES.ingest,
    async (job, token) => {
      assertJobData(job, 'events', 'events')
      const timer = seconds.startTimer()
      let result: BatchResult
      let deferred = 0
      const admission: Admission = {
        gate,
        defer: async (parts) => {
          deferred = await deferParts(job as IdentifiedJob, parts, requeue, logger)
        },
      }
      try {
        result = await pipeline.process(job.data, job.data.handoffId ?? job.id ?? 'unknown', job.id === undefined ? undefined : admission)
      } catch (err) {
        if (err instanceof TeamBusyError) {
          // Not a failure: the batch waits in the delayed set without using an attempt, longer each
          // time it finds its team so (a busy team's part is split off every capture batch).
          const wait = Math.max(100, config.ingest.teamWaitMs)
          return postpone(job, putBackDelayMs(job, wait, 8 * wait), token)
        }
        if (!(err instanceof TeamBatchError)) throw err
        if (!shouldSplit(job, config.ingest.splitAfterAttempts)) {
          if (job.id !== undefined) await keepOnlyFailed(job as IdentifiedJob, err)
          count(err.result, deferred)
          throw err
        }
        result = await splitOff(job as IdentifiedJob, err, requeue, logger)
      }
      timer()
      count(result, deferred)
      return result
    },
    ctx.newRedisConnection('ingest-worker'),
    config.queuePrefix,
    logger,
    {
      concurrency: config.ingest.concurrency,
      lockDuration: config.ingest.lockDurationMs,
      stalledInterval: Math.max(1000, Math.floor(config.ingest.lockDurationMs / 2)),
      // A batch stalls only when its worker died; under repeated crashes it must be retried, not failed.
      maxStalledCount: 100,
      // A batch running longer than a team's wait is stuck (as TeamGate sees its team): it stops counting against the slots.
      stuck: new StuckSlots({ afterMs: Math.max(100, config.ingest.teamWaitMs), maxExtra: config.ingest.stuckExtraSlots }),
    },
  )
  worker.on('failed', (job, err) => {
    const final = failedForGood(job, err)
    logger.error(
      { job_id: job?.id, attempts: job?.attemptsMade, err: err.message },
      final ? 'ingest batch failed for good' : 'ingest batch failed, will retry with backoff',
    )
  })
  return {
    worker,
    // The worker drains first; its last splits still need the queue.
    closers: [
      { name: 'ingest worker', close: () => worker.close() },
      { name: 'ingest requeue', close: () => requeue.close() },
    ],
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

type IdentifiedJob = Job<IngestBatch, BatchResult> & { id: string }

/**
 * Busy teams' parts become ingest jobs of their own, then leave this job's data, so a retry of this
 * job does not run them again. Ids derive from this job and the team: a redelivery adds nothing twice.
 */
async function deferParts(job: IdentifiedJob, parts: TeamPart[], requeue: Queue<IngestBatch>, logger: Logger): Promise<number> {
  const handoffId = job.data.handoffId ?? job.id
  await requeue.addBulk(parts.map((p) => ({ name: 'batch', data: { events: p.events, handoffId }, opts: { jobId: `${job.id}-team-${p.teamId}` } })))
  const teams = new Set(parts.map((p) => p.teamId))
  await job.updateData({ ...job.data, events: job.data.events.filter((e) => !teams.has(e.team_id)) })
  const events = parts.reduce((n, p) => n + p.events.length, 0)
  logger.info({ job_id: job.id, teams: [...teams], events }, 'ingest batch: teams at INGEST_TEAM_CONCURRENCY go on as jobs of their own')
  return events
}

/**
 * The teams whose parts were stored (and handed to the exporters) leave the job's data before it is
 * tried again, as deferred parts do: a retry runs only the teams that failed, so one team's failure
 * does not run every other team's plugins again on events already stored (their fetches, cache
 * writes and captures done twice over, up to the split).
 */
async function keepOnlyFailed(job: IdentifiedJob, err: TeamBatchError): Promise<void> {
  const failed = new Set(err.failures.map((f) => f.teamId))
  const events = job.data.events.filter((e) => failed.has(e.team_id))
  if (events.length < job.data.events.length) await job.updateData({ ...job.data, events })
}

/** A batch of one team keeps the normal retries: there is no other team to unblock. */
function shouldSplit(job: Job<IngestBatch, BatchResult>, afterAttempts: number): boolean {
  if (job.id === undefined || job.attemptsMade < afterAttempts) return false
  const teams = new Set<number>()
  for (const event of job.data.events) if (teams.add(event.team_id).size > 1) return true
  return false
}

/**
 * Each failed team's events become a new ingest job, added before this job completes so nothing
 * acknowledged is lost. Its id derives from this job and the team, so a redelivery of this job
 * (its worker died after the add) does not add it twice.
 */
async function splitOff(job: IdentifiedJob, err: TeamBatchError, requeue: Queue<IngestBatch>, logger: Logger): Promise<BatchResult> {
  const handoffId = job.data.handoffId ?? job.id
  const jobs = err.failures.map((f) => ({ name: 'batch', data: { events: f.events, handoffId }, opts: { jobId: `${job.id}-team-${f.teamId}` } }))
  await requeue.addBulk(jobs)
  err.failures.forEach((f, i) => {
    logger.warn(
      { job_id: job.id, attempts: job.attemptsMade, team_id: f.teamId, events: f.events.length, requeued_as: jobs[i].opts.jobId, err: f.error.message },
      "ingest batch split: a team's part failed again and goes on as its own job; the other teams' events are stored",
    )
  })
  return { ...err.result, requeued: err.result.requeued + err.failures.reduce((n, f) => n + f.events.length, 0) }
}
