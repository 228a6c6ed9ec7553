import type { Job } from 'bullmq'
import type Redis from 'ioredis'
import type { Pool } from 'pg'
import { assertJobData, Logger, postpone, putBackDelayMs, SlotCounts } from '@plugin-server/core'
import { ActiveConfig, logTarget, PluginLogWriter, PluginManager } from '@plugin-server/plugin-runtime'
import { redact } from '@plugin-server/secrets'
import { getConfigValues, getHistoricalRunStatus, PluginConfigGoneError } from '@plugin-server/db'
import type { FetchGuard } from '@plugin-server/plugin-vm'
import { RetryScheduled } from './backoff-strategy'
import { insertDeadLetter } from './dead-letters'
import { deliver } from './deliver'
import type { ExportMetrics, MetricLabels } from './export-metrics'
import { markHistoricalPageDone } from './historical-pages'
import type { AttemptRecord, DeliveryJobData, DeliveryOutcome, ExportCounts, ExportSettings, ProcessedPluginEvent } from './interfaces'
import { exportKeys, ExportKeys } from './keys'
import { finishPending } from './pending-events'
import { exporterRetryDelayMs, mayRetry, MAX_RETRIES, RETRY_BASE_MS } from './retry-schedule'

/** How long a job waits when its config already has its share of this exporter's slots: the first time... */
const BUSY_CONFIG_DELAY_MS = 500
/** ...and at most, however many times it found its config so. */
const BUSY_CONFIG_MAX_DELAY_MS = 8000

/**
 * 500 ms doubling to 8 s (core putBackDelayMs): at a fixed 500 ms, a hanging destination's backlog
 * (thousands of jobs behind its two slots) was fetched and put back twice a second each, and every
 * other team's jobs waited behind it.
 */
export function busyConfigDelayMs(attemptsStarted: number, attemptsMade: number, random = Math.random()): number {
  return putBackDelayMs({ attemptsStarted, attemptsMade }, BUSY_CONFIG_DELAY_MS, BUSY_CONFIG_MAX_DELAY_MS, random)
}

export interface DeliveryDeps {
  manager: PluginManager
  pool: Pool
  redis: Redis
  queuePrefix: string
  metrics: ExportMetrics
  logs: PluginLogWriter
  logger: Logger
  settings: ExportSettings
  /** The plugins' fetch policy, applied to the webhooks composeWebhook returns. */
  webhookGuard: FetchGuard
}

/**
 * Runs delivery jobs: one attempt per run. A RetryError schedules the next attempt by throwing (the
 * backoff strategy picks the delay); everything else ends the job, delivered or as a dead letter — or
 * dropped, when its config is no longer in Postgres (deleted: its dead letters go with it anyway).
 * A config may hold only `configConcurrency` of this process's slots, and a team's configs together
 * `teamConcurrency`, so a slow destination — or a team of many — delays its own jobs and no one else's.
 */
export class DeliveryProcessor {
  private readonly configSlots = new SlotCounts<number>()
  private readonly teamSlots = new SlotCounts<number>()
  private readonly keys: ExportKeys

  constructor(private readonly deps: DeliveryDeps) {
    this.keys = exportKeys(deps.queuePrefix)
  }

  readonly process = async (job: Job<DeliveryJobData>, token?: string): Promise<string> => {
    assertJobData(job, 'events', 'events')
    const { configId } = job.data
    if (job.data.delivered || job.data.events.length === 0) return this.finish(job, 'already done')
    // A cancelled run's pages not started yet are dropped (counted neither exported nor failed).
    if (job.data.source.type === 'historical' && (await getHistoricalRunStatus(this.deps.pool, job.data.source.runId)) === 'cancelled')
      return this.finish(job, 'historical run cancelled', { dropped: job.data.events.length })
    const { teamId } = job.data
    const { configConcurrency, teamConcurrency } = this.deps.settings
    if (this.configSlots.held(configId) >= configConcurrency || this.teamSlots.held(teamId) >= teamConcurrency)
      return postpone(job, busyConfigDelayMs(job.attemptsStarted, job.attemptsMade), token)
    this.configSlots.take(configId)
    this.teamSlots.take(teamId)
    try {
      return await this.attempt(job, token)
    } catch (error) {
      // Its config was deleted while the batch waited: nothing can deliver or keep it any more, and a
      // retry would fail the same way 1 000 times while its events held the pending counts.
      if (error instanceof PluginConfigGoneError) return this.dropGone(job)
      throw error
    } finally {
      this.configSlots.give(configId)
      this.teamSlots.give(teamId)
    }
  }

  private async attempt(job: Job<DeliveryJobData>, token?: string): Promise<string> {
    const { manager, settings } = this.deps
    const data = job.data
    const startedAt = Date.now()
    let config = await manager.config(data.configId)
    if (!config && manager.state(data.configId) === null && (await getConfigValues(this.deps.pool, data.configId))?.enabled) {
      // Enabled, and not known here yet: the reload message saying so is still on its way, was missed
      // (a Redis reconnect), or this process's last read of the configs failed. Read it now: as "not
      // enabled" the batch became a dead letter the team had to replay. A read that fails is retried.
      await manager.reload({ reason: 'config enabled', pluginConfigId: data.configId })
      config = await manager.config(data.configId)
    }
    if (!config) {
      const state = manager.state(data.configId)
      // Still setting up (retrying setup, or its plugin failed to load and awaits a retry or a fix): the job waits, longer
      // the longer it has waited, without spending an attempt — counted, a config left failed for half an hour lost its batches.
      if (state?.status === 'pending' || state?.status === 'retrying' || state?.status === 'failed') {
        const waited = Math.max(1, Math.round((Date.now() - job.timestamp) / RETRY_BASE_MS))
        return postpone(
          job,
          exporterRetryDelayMs(waited, settings.timeScale),
          token,
          `plugin config ${data.configId} is not set up yet${state.status === 'failed' ? ` (its plugin failed to load: ${state.lastError})` : ''}`,
        )
      }
      const reason =
        state?.status === 'disabled' ? `plugin config ${data.configId} is disabled: ${state.reason}` : `plugin config ${data.configId} is not enabled`
      await this.deadLetter(job, null, data.events, reason, false, [...data.attempts, { at: startedAt, error: reason, retryError: false }], 'gone')
      await this.deps.metrics.add(
        { teamId: data.teamId, pluginName: 'unknown', configId: data.configId },
        data.method,
        {
          undelivered_events: data.events.length,
        },
        data.source.type,
      )
      return this.finish(job, 'dead letter', { failed: data.events.length })
    }
    const labels: MetricLabels = { teamId: config.record.teamId, pluginName: config.record.pluginName, configId: config.record.id }
    if (!config.methods.includes(data.method)) {
      // A live delivery was made while the config's version exported the method; a historical page
      // or a replay may be of a version that never did.
      const reason = `${config.record.pluginName} ${data.source.type === 'live' ? 'no longer exports' : 'does not export'} ${data.method}`
      await this.deadLetter(job, config, data.events, reason, false, [...data.attempts, { at: startedAt, error: reason, retryError: false }], 'gone')
      await this.deps.metrics.add(labels, data.method, { undelivered_events: data.events.length }, data.source.type)
      return this.finish(job, 'dead letter', { failed: data.events.length })
    }
    const counts: Partial<ExportCounts> = {}
    if (data.attempts.length === 0 && !data.seen) counts.events_seen = data.events.length
    const outcome = withoutSecrets(
      await deliver(config, data.method, data.events, { timeoutMs: settings.webhookTimeoutMs, guard: this.deps.webhookGuard }),
      logTarget(config.record).secrets,
    )
    counts.events_delivered_successfully = outcome.delivered.length
    if (outcome.delivered.length > 0 && (outcome.failed || outcome.retry)) {
      // What was delivered leaves the job before anything below can fail (a dead letter's insert
      // with Postgres away ends the run and the job is run again): the rerun sends only the rest.
      // The job first: counted before it was cut, a failed cut would count the delivered part again on the rerun.
      const undelivered = [...(outcome.failed?.events ?? []), ...(outcome.retry?.events ?? [])]
      await job.updateData({ ...data, events: undelivered, seen: true })
      await this.deps.metrics.add(labels, data.method, counts, data.source.type)
      counts.events_seen = 0
      counts.events_delivered_successfully = 0
    }
    counts.retry_errors = outcome.retry?.errors ?? 0
    counts.other_errors = outcome.failed?.errors ?? 0
    counts.undelivered_events = 0
    if (outcome.failed) {
      const attempts = [...data.attempts, { at: startedAt, error: outcome.failed.message, retryError: false }]
      await this.deadLetter(job, config, outcome.failed.events, outcome.failed.message, false, attempts, `failed-${attempts.length}`)
      counts.undelivered_events += outcome.failed.events.length
    }
    if (outcome.retry) {
      const attempts: AttemptRecord[] = [...data.attempts, { at: startedAt, error: outcome.retry.message, retryError: true }]
      if (mayRetry(attempts.length, attempts[0].at, Date.now(), settings.timeScale)) {
        const deadLettered = (data.deadLettered ?? 0) + (outcome.failed?.events.length ?? 0)
        await job.updateData({ ...data, events: outcome.retry.events, attempts, deadLettered })
        await this.deps.redis.zadd(this.keys.retrying(data.configId), Date.now(), job.id!)
        await this.deps.metrics.add(labels, data.method, counts, data.source.type)
        this.log(
          config,
          'WARN',
          `${data.method} failed for ${outcome.retry.events.length} events (retry ${attempts.length} of ${MAX_RETRIES} scheduled): ${outcome.retry.message}`,
        )
        // The backoff strategy reads the attempts just stored to pick the delay.
        throw new RetryScheduled(outcome.retry.message)
      }
      await this.deadLetter(job, config, outcome.retry.events, outcome.retry.message, true, attempts, 'exhausted')
      counts.undelivered_events += outcome.retry.events.length
    }
    await this.deps.metrics.add(labels, data.method, counts, data.source.type)
    return this.finish(job, outcome.retry || outcome.failed ? 'dead letter' : 'delivered', { failed: counts.undelivered_events })
  }

  private async deadLetter(
    job: Job<DeliveryJobData>,
    config: ActiveConfig | null,
    events: readonly ProcessedPluginEvent[],
    error: string,
    retryError: boolean,
    attempts: AttemptRecord[],
    suffix: string,
  ): Promise<void> {
    const { data } = job
    const message = config ? redact(error, logTarget(config.record).secrets) : error
    await insertDeadLetter(this.deps.pool, {
      jobKey: `${job.id}-${suffix}`,
      configId: data.configId,
      teamId: data.teamId,
      method: data.method,
      events,
      error: message,
      retryError,
      attempts,
    })
    const why = retryError ? `still failing after ${attempts.length - 1} retries` : 'failed with an error that is not retried'
    if (config)
      this.log(
        config,
        'ERROR',
        `${data.method} ${why}: ${events.length} events kept as a dead letter (replay: plugin-server export replay ${data.configId}): ${message}`,
      )
    else
      this.deps.logger.error(
        { plugin_config_id: data.configId, team_id: data.teamId, method: data.method, events: events.length, err: message },
        'export batch kept as a dead letter',
      )
  }

  /**
   * Drops the events from the finished job (a redelivery then does nothing) and clears its status
   * entries and its pending events. A historical page also counts towards its run: its events were exported unless kept as
   * dead letters (`failed`, in this attempt or earlier ones) or dropped by a cancel.
   */
  private async finish(job: Job<DeliveryJobData>, result: string, outcome: { failed?: number; dropped?: number } = {}): Promise<string> {
    const { data } = job
    const { redis } = this.deps
    if (data.source.type === 'historical' && !data.delivered) {
      const failed = (data.deadLettered ?? 0) + (outcome.failed ?? 0)
      const pageEvents = data.source.events ?? data.events.length
      const exported = Math.max(0, pageEvents - failed - (outcome.dropped ?? 0))
      await markHistoricalPageDone(redis, this.deps.queuePrefix, data.source.runId, data.source.seq, { exported, failed })
    }
    if (!data.delivered) await job.updateData({ ...data, events: [], delivered: true })
    await finishPending(redis, this.keys, { configId: data.configId, teamId: data.teamId }, job.id!)
    return result
  }

  /** One line in the host's log (the config's own log rows may be all that is left of it), never the events. */
  private async dropGone(job: Job<DeliveryJobData>): Promise<string> {
    const { configId, teamId, method, events, source } = job.data
    this.deps.logger.warn(
      { plugin_config_id: configId, team_id: teamId, method, source: source.type, events: events.length },
      'export batch of a deleted plugin config dropped',
    )
    return this.finish(job, 'config deleted', { dropped: events.length })
  }

  private log(config: ActiveConfig, type: 'WARN' | 'ERROR', message: string): void {
    this.deps.logs.write(logTarget(config.record), 'SYSTEM', type, message)
  }
}

/** The plugin's messages in an outcome go into the job's attempts, its failure reason and logs: each without the config's secrets. */
function withoutSecrets(outcome: DeliveryOutcome, secrets: readonly string[]): DeliveryOutcome {
  const clean = (group: DeliveryOutcome['retry']) => group && { ...group, message: redact(group.message, secrets) }
  return { delivered: outcome.delivered, retry: clean(outcome.retry), failed: clean(outcome.failed) }
}
