import { cutFailureText, doublingDelayMs, postpone, rankPluginJobAgain } from '@plugin-server/core'
import type { Logger, PluginJobData } from '@plugin-server/core'
import {
  ActiveConfig,
  JobHistory,
  JobRunRef,
  LogTarget,
  logTarget,
  PluginConfigUnavailableError,
  PluginLogWriter,
  PluginManager,
} from '@plugin-server/plugin-runtime'
import { redact } from '@plugin-server/secrets'
import { PluginError, PluginStoreError } from '@plugin-server/plugin-vm'
import { Job, UnrecoverableError } from 'bullmq'
import type Redis from 'ioredis'
import type { Pool } from 'pg'
import { readConfigStatus } from './config-status'
import type { JobMetrics } from './job-metrics'
import { JOB_RETRY_BASE_MS, jobRetryDelayMs } from './job-retry'

/** The longest a job waits between runs the server failed (see JobRunner.putBack). */
const PUT_BACK_MAX_MS = 300_000
/** How long after the server first failed its run a job it keeps failing is given up, as an export delivery is. */
const PUT_BACK_HORIZON_MS = 24 * 3_600_000

export interface JobRunnerDeps {
  manager: PluginManager
  pool: Pool
  logs: PluginLogWriter
  logger: Logger
  metrics: JobMetrics
  timeScale: number
  /** Where each job's state changes are recorded for the admin API (the job history). */
  redis: Redis
  queuePrefix: string
}

/**
 * Runs one job of the `jobs` queue. RetryError rethrows (BullMQ retries it with the custom backoff
 * while attempts remain); any other error fails the job for good (UnrecoverableError). Every
 * outcome but success is written to the config's plugin logs.
 */
export class JobRunner {
  private readonly history: JobHistory

  constructor(private readonly deps: JobRunnerDeps) {
    this.history = new JobHistory(deps.redis, deps.queuePrefix, (err) =>
      deps.logger.warn({ err: err.message }, 'plugin job state not recorded in the job history'),
    )
  }

  /** `token`: the worker's lock on the job, to put it back when the server, not the plugin, failed. */
  async run(job: Job<PluginJobData>, token?: string): Promise<void> {
    const { logs, metrics } = this.deps
    const { pluginConfigId, name, payload } = job.data
    if (job.attemptsMade === 0 && job.stalledCounter === 0 && !job.data.serverPutBacks) {
      metrics.startDelaySeconds.observe(Math.max(0, Date.now() - job.timestamp - (job.opts.delay ?? 0)) / 1000)
    }
    // No secrets known until the config is loaded: until then the payload is not recorded.
    const ref: JobRunRef = { pluginConfigId, jobId: job.id ?? '', name, enqueuedAt: job.data.enqueuedAt ?? new Date(job.timestamp).toISOString() }
    const attempt = job.attemptsMade + 1
    let status: Awaited<ReturnType<typeof readConfigStatus>>
    try {
      status = await readConfigStatus(this.deps.pool, pluginConfigId)
    } catch (err) {
      return this.putBack(job, token, ref, `its config could not be read: ${(err as Error).message}`)
    }
    if (!status?.enabled) {
      metrics.jobs.inc({ outcome: 'dropped' })
      const why = `job "${name}" dropped: plugin config ${pluginConfigId} is ${status ? 'disabled' : 'deleted'}`
      this.deps.logger.warn({ plugin_config_id: pluginConfigId, job: name, job_id: job.id }, why)
      if (status) logs.write(status.target, 'SYSTEM', 'WARN', why)
      await this.history.finished(ref, { state: 'failed', attempts: attempt, error: why })
      return
    }
    let active: ActiveConfig | null
    try {
      active = await this.activeConfig(pluginConfigId)
    } catch (err) {
      return this.putBack(job, token, ref, `its config could not be read: ${(err as Error).message}`, status.target)
    }
    // Its load failed for a reason that is not the plugin's (Postgres did not give its files): not an attempt.
    if (!active && this.deps.manager.state(pluginConfigId)?.status === 'pending') {
      return this.putBack(job, token, ref, 'the plugin could not be loaded (the server failed to read it)', status.target)
    }
    if (!active) {
      metrics.jobs.inc({ outcome: 'retry' })
      const why = `job "${name}" postponed: the plugin is not set up yet (setupPlugin has not succeeded)`
      logs.write(status.target, 'SYSTEM', 'WARN', why)
      await this.history.finished(ref, { state: attempt < (job.opts.attempts ?? 1) ? 'retrying' : 'failed', attempts: attempt, error: why })
      await this.waitAgain(job, attempt)
      throw new Error(`plugin config ${pluginConfigId} is not set up`)
    }
    const target = logTarget(active.record)
    const known: JobRunRef = { ...ref, payload, secrets: target.secrets }
    if (!active.jobNames.includes(name)) {
      metrics.jobs.inc({ outcome: 'failed' })
      const why = `job "${name}" failed: the plugin exports no such job (jobs: ${active.jobNames.join(', ') || 'none'})`
      logs.write(target, 'SYSTEM', 'ERROR', why)
      await this.history.finished(known, { state: 'failed', attempts: attempt, error: why })
      throw new UnrecoverableError(`unknown job ${name}`)
    }
    await this.history.running(known, attempt)
    const startedAt = Date.now()
    const timer = metrics.durationSeconds.startTimer()
    try {
      await active.use((instance) => instance.runJob(name, payload))
      metrics.jobs.inc({ outcome: 'success' })
      await this.history.finished(known, { state: 'completed', attempts: attempt, startedAt, error: null })
    } catch (err) {
      if (err instanceof PluginConfigUnavailableError) return this.putBack(job, token, known, redact(err.message, target.secrets), target)
      const failure = this.failure(job, target, err as Error)
      if (!(failure instanceof UnrecoverableError)) await this.waitAgain(job, attempt)
      await this.history.finished(known, {
        state: failure instanceof UnrecoverableError ? 'failed' : 'retrying',
        attempts: attempt,
        startedAt,
        error: redact((err as Error).message, target.secrets),
      })
      throw failure
    } finally {
      timer()
    }
  }

  /**
   * The server, not the plugin, failed the run (Postgres unreachable while the config is read or its
   * plugin loaded again after an eviction): the job waits in the delayed set without using one of
   * the plugin's attempts, 5 s doubling to PUT_BACK_MAX_MS, ranked among its team's waiting jobs
   * again, until PUT_BACK_HORIZON_MS after the server first failed it; then it fails for good. As a failed attempt
   * it spent the plugin's RetryError budget, and an outage longer than its 85 minutes failed every
   * job that came due for good; a load failure was even a PLUGIN ERROR and the job given up at once.
   * `target`: the config's plugin logs, once known, which hear of the job given up.
   */
  private async putBack(job: Job<PluginJobData>, token: string | undefined, ref: JobRunRef, why: string, target?: LogTarget): Promise<never> {
    const { metrics, logger, timeScale, redis, queuePrefix } = this.deps
    const { name, pluginConfigId } = job.data
    // Counted from the first run the server failed, not from when it was queued (a runIn(2, 'days')
    // job is queued two days before it runs), and again after a run that reached the plugin.
    const same = job.data.serverFailingSince !== undefined && job.data.serverFailingAttempts === job.attemptsMade
    const putBacks = (same ? (job.data.serverPutBacks ?? 0) : 0) + 1
    const failingSince = same ? job.data.serverFailingSince! : Date.now()
    if (Date.now() - failingSince > PUT_BACK_HORIZON_MS / timeScale) {
      metrics.jobs.inc({ outcome: 'failed' })
      const message = `job "${name}" failed: the server could not run it for ${Math.round(PUT_BACK_HORIZON_MS / 3_600_000)} h (${putBacks - 1} times put back): ${why}`
      logger.error({ plugin_config_id: pluginConfigId, job: name, job_id: job.id }, message)
      if (target) this.deps.logs.write(target, 'SYSTEM', 'ERROR', message)
      await this.history.finished(ref, { state: 'failed', attempts: job.attemptsMade + 1, error: message })
      throw bounded(new UnrecoverableError(message))
    }
    // Give or take a quarter: the jobs put back in an outage do not all come back at once when it ends.
    const delay = doublingDelayMs(putBacks - 1, JOB_RETRY_BASE_MS / timeScale, PUT_BACK_MAX_MS / timeScale)
    metrics.jobs.inc({ outcome: 'postponed' })
    const message = `job "${name}" postponed ${Math.round(delay / 1000)} s, not counted as an attempt: ${why}`
    logger.warn({ plugin_config_id: pluginConfigId, job: name, job_id: job.id }, message)
    await this.history.finished(ref, { state: 'retrying', attempts: job.attemptsMade + 1, error: message })
    // Lost, the next put-back starts again from 5 s and the horizon from then: not worth failing the put-back for.
    await job
      .updateData({ ...job.data, serverPutBacks: putBacks, serverFailingSince: failingSince, serverFailingAttempts: job.attemptsMade })
      .catch((err: Error) => logger.warn({ job_id: job.id, err: err.message }, 'plugin job put back without its count'))
    await rankPluginJobAgain(job, redis, queuePrefix, Date.now() + delay).catch((err: Error) =>
      logger.warn({ job_id: job.id, err: err.message }, 'plugin job put back not ranked again; it keeps its rank'),
    )
    return postpone(job, delay, token, message)
  }

  /** A job BullMQ retries after its backoff waits among its team's jobs again, ranked as a new one (rankPluginJobAgain). */
  private async waitAgain(job: Job<PluginJobData>, attempt: number): Promise<void> {
    if (attempt >= (job.opts.attempts ?? 1)) return
    const { redis, queuePrefix, timeScale, logger } = this.deps
    await rankPluginJobAgain(job, redis, queuePrefix, Date.now() + jobRetryDelayMs(attempt, timeScale)).catch((err: Error) =>
      logger.warn({ job_id: job.id, err: err.message }, 'retried plugin job not ranked again; it keeps its rank'),
    )
  }

  private async activeConfig(id: number): Promise<ActiveConfig | null> {
    const { manager } = this.deps
    if (!manager.knows(id)) await manager.refresh()
    return manager.config(id)
  }

  /** What to throw to BullMQ: the error itself to retry, an UnrecoverableError to stop. */
  private failure(job: Job<PluginJobData>, target: ReturnType<typeof logTarget>, err: Error): Error {
    const { name } = job.data
    const message = redact(err.message, target.secrets)
    const attempt = job.attemptsMade + 1
    const attempts = job.opts.attempts ?? 1
    if (err instanceof PluginError && err.isRetryError) {
      if (attempt < attempts) {
        this.deps.metrics.jobs.inc({ outcome: 'retry' })
        const delay = jobRetryDelayMs(attempt, this.deps.timeScale)
        this.deps.logs.write(
          target,
          'PLUGIN',
          'WARN',
          `job "${name}" failed ${retried(err)} (attempt ${attempt} of ${attempts}), retrying in ${delay / 1000} s: ${message}`,
        )
        // BullMQ keeps the error it is given (its stack too) in the job's hash: what the log holds, no more.
        err.message = message
        if (err.stack !== undefined) err.stack = redact(err.stack, target.secrets)
        return bounded(err)
      }
      this.deps.metrics.jobs.inc({ outcome: 'failed' })
      this.deps.logs.write(target, 'PLUGIN', 'ERROR', `job "${name}" failed ${retried(err)} ${attempt} times, giving up: ${message}`, err.pluginStack)
      return bounded(new UnrecoverableError(message))
    }
    this.deps.metrics.jobs.inc({ outcome: 'failed' })
    // A PluginError's message already names the plugin, the config and the job.
    if (err instanceof PluginError) this.deps.logs.write(target, 'PLUGIN', 'ERROR', message, err.pluginStack)
    else this.deps.logs.write(target, 'PLUGIN', 'ERROR', `job "${name}" failed: ${message}`)
    return bounded(new UnrecoverableError(message))
  }
}

/** Why a failed job is retried: the plugin asked (RetryError), or a server store failed under it (PluginStoreError). */
function retried(err: PluginError): string {
  return err instanceof PluginStoreError ? 'while a server store failed' : 'with RetryError'
}

/**
 * The error with what BullMQ keeps of it (its message and its stack, in the job's hash for days once
 * failed) cut to PLUGIN_JOB_FAILURE_MAX_BYTES each, what the team's account holds for them: a plugin
 * throwing megabytes would otherwise keep them in Redis outside its PLUGIN_TEAM_REDIS_LIMIT_MB.
 */
function bounded<E extends Error>(err: E): E {
  err.message = cutFailureText(err.message)
  if (err.stack !== undefined) err.stack = cutFailureText(err.stack)
  return err
}
