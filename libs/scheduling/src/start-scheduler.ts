import { createWorker, observeQueueWorker, postpone, RoleContext, RunningRole, SlotCounts, StuckSlots, subscribeReload } from '@plugin-server/core'
import type { PluginRuntime } from '@plugin-server/plugin-runtime'
import type { Job, Worker } from 'bullmq'
import type Redis from 'ioredis'
import { registerDeadLetterGauges } from './dead-letter-gauges'
import { DeadLetterRetention } from './dead-letter-retention'
import { DeletedConfigCleanup } from './deleted-config-cleanup'
import { EventsPartitionMaintainer } from './events-partition-maintainer'
import { PluginLogRetention } from './plugin-log-retention'
import type { ScheduledTaskData, SchedulingConfig } from './interfaces'
import { RunMarker } from './run-marker'
import { ScheduledQueues } from './scheduled-queues'
import { createSchedulerMetrics } from './scheduler-metrics'
import { ShardOwnership } from './shard-ownership'
import { TaskRunner } from './task-runner'
import { registerTeamUsageGauges } from './team-usage-gauges'
import { Timekeeper } from './timekeeper'

/** How long a run waits when its team already has its share of this process's slots. */
const TEAM_BUSY_DELAY_MS = 500

export interface StartedScheduler extends RunningRole {
  timekeeper: Timekeeper
  /** The BullMQ workers of the shards this replica owns now. */
  readonly shardWorkers: Worker<ScheduledTaskData>[]
  eventsPartitions: EventsPartitionMaintainer
  /** Null with one shard (every replica works the one `scheduled` queue). */
  ownership: ShardOwnership | null
}

/**
 * The scheduler role: BullMQ workers on the scheduled queues (one chain per config and task, one
 * run at a time per chain) and the timekeeper that keeps those chains. With SCHEDULER_SHARDS = 1
 * every replica works the one queue; with more, each works the shards it owns (ShardOwnership) and
 * so sets up only their configs. It also keeps the events table's daily partitions, deletes old plugin
 * logs and export dead letters, drops what deleted configs left in Redis and reports how close each team is to its Redis and storage limits.
 */
export async function startScheduler(ctx: RoleContext, runtime: PluginRuntime, config: SchedulingConfig): Promise<StartedScheduler> {
  const { logger, registry } = ctx
  const { queuePrefix, timeScale, plugins } = ctx.config
  const redis = ctx.newRedisConnection('scheduler')
  const queues = new ScheduledQueues(ctx.newRedisConnection('scheduled-queue'), queuePrefix, config.schedulerShards)
  const metrics = createSchedulerMetrics(registry)
  const marker = new RunMarker(redis, queuePrefix, plugins.timeoutMs + config.schedulerLockDurationMs)
  const deps = { manager: runtime.manager, queues, redis, pool: ctx.pool(), logger, metrics, queuePrefix, timeScale }
  const runner = new TaskRunner({ ...deps, logs: runtime.services.logs, marker })
  const timekeeper = new Timekeeper(deps)
  const eventsPartitions = new EventsPartitionMaintainer(ctx.pool(), logger, registry, ctx.config.events)
  eventsPartitions.start()
  const logRetention = new PluginLogRetention(ctx.pool(), logger, registry, plugins.logRetentionDays)
  logRetention.start()
  const { deadLetterRetentionDays, deadLetterReplayedRetentionDays } = ctx.config.export
  const deadLetters = new DeadLetterRetention(ctx.pool(), logger, registry, { pending: deadLetterRetentionDays, replayed: deadLetterReplayedRetentionDays })
  deadLetters.start()
  const configCleanup = new DeletedConfigCleanup({ pool: ctx.pool(), redis, queuePrefix, logger }, registry)
  configCleanup.start()
  const MiB = 1024 * 1024
  registerTeamUsageGauges(registry, redis, ctx.pool(), queuePrefix, { redis: plugins.teamRedisLimitMb * MiB, storage: plugins.teamStorageLimitMb * MiB })
  registerDeadLetterGauges(registry, ctx.pool())

  // A team holds at most schedulerTeamConcurrency of the process's slots (every shard's together). A run of a team at
  // its share waits in the delayed set before it starts: it is still its chain's one job (no successor yet, no run
  // marked), so the chain stays single-flight and the wait shows as drift.
  const teamSlots = new SlotCounts<number>()
  const processRun = async (job: Job<ScheduledTaskData>, token?: string): Promise<void> => {
    const { teamId } = job.data
    if (teamSlots.held(teamId) >= config.schedulerTeamConcurrency) return postpone(job, TEAM_BUSY_DELAY_MS, token)
    return teamSlots.within(teamId, () => runner.run(job))
  }
  const workers = new Map<number, Worker<ScheduledTaskData>>()
  // BullMQ leaves a connection it is handed open when its worker closes: each shard's is closed here
  // when the shard goes, or every shard this replica gained and lost kept one (peers restarting, scaling).
  const workerConnections = new Map<Worker<ScheduledTaskData>, Redis>()
  // Runs that hang stop counting against their shard's slots once stuck, so two or three teams at their share never hold them all.
  const stuckSlots = new Map<number, StuckSlots>()
  const stopping = new Set<Promise<void>>()
  const openWorker = (shard: number, concurrency: number, extra: number) => {
    const stuck = new StuckSlots({ afterMs: config.schedulerStuckAfterMs, maxExtra: extra })
    const connection = ctx.newRedisConnection('scheduler-worker')
    const worker = createWorker<ScheduledTaskData>(queues.nameOf(shard), processRun, connection, queuePrefix, logger, {
      concurrency,
      stuck,
      // The lease: renewed every half of it while the run goes on, so a slow run keeps it; a dead replica's run is taken over once it expires.
      lockDuration: config.schedulerLockDurationMs,
      stalledInterval: config.schedulerStalledIntervalMs,
      // A run stalls only when its replica died; it must be taken over, not failed.
      maxStalledCount: 1000,
    })
    worker.on('failed', (job, err) =>
      logger.warn({ job_id: job?.id, data: job?.data, err: err.message }, 'scheduled run failed; the reconciler re-creates its chain'),
    )
    // Observed here, not through RunningRole.workers: shards come and go while the role runs.
    observeQueueWorker(registry, worker)
    workers.set(shard, worker)
    workerConnections.set(worker, connection)
    stuckSlots.set(shard, stuck)
  }
  /** Runs in flight finish first; then the shard's configs are torn down here (their next owner sets them up). */
  const stopWorker = (shard: number) => {
    const worker = workers.get(shard)!
    workers.delete(shard)
    stuckSlots.delete(shard)
    const stopped = worker
      .close()
      .finally(() => {
        const connection = workerConnections.get(worker)
        workerConnections.delete(worker)
        // Not waited for: a Redis that does not answer QUIT must not hold back the shard's release below.
        if (connection) void ctx.closeRedisConnection(connection)
      })
      .then(async () => {
        // Dealt back to this replica while its runs finished: its configs stay.
        if (workers.has(shard)) return
        await runtime.manager.release(runtime.manager.enabledConfigs().flatMap((r) => (queues.shardOf(r.id) === shard ? [r.id] : [])))
      })
      .catch((err: Error) => logger.warn({ err: err.message, shard }, 'scheduler shard not released cleanly'))
      .finally(() => stopping.delete(stopped))
    stopping.add(stopped)
  }
  // SCHEDULER_CONCURRENCY is per process, shared by the shards it owns; so is SCHEDULER_STUCK_EXTRA_SLOTS.
  const ownShards = async (owned: number[]) => {
    for (const shard of [...workers.keys()]) if (!owned.includes(shard)) stopWorker(shard)
    const concurrency = Math.max(1, Math.ceil(config.schedulerConcurrency / Math.max(1, owned.length)))
    const extra = Math.ceil(config.schedulerStuckExtraSlots / Math.max(1, owned.length))
    for (const shard of owned) {
      if (workers.has(shard)) stuckSlots.get(shard)!.resize(concurrency, extra)
      else openWorker(shard, concurrency, extra)
    }
    metrics.shardsOwned.set(owned.length)
  }
  let ownership: ShardOwnership | null = null
  if (config.schedulerShards === 1) {
    await ownShards([0])
  } else {
    ownership = new ShardOwnership({
      redis,
      queuePrefix,
      logger,
      shards: config.schedulerShards,
      leaseMs: config.schedulerLockDurationMs,
      onChange: ownShards,
    })
    await ownership.start()
  }

  const reconcile = (why: string) => void timekeeper.reconcile().catch((err: Error) => logger.warn({ err: err.message, why }, 'scheduler reconcile failed'))
  await timekeeper.reconcile().catch((err: Error) => logger.warn({ err: err.message }, 'first scheduler reconcile failed; retrying periodically'))
  const timer = setInterval(() => reconcile('periodic'), config.schedulerReconcileIntervalMs)
  timer.unref()
  // The manager re-reads configs on the same messages; reload() joins its re-read (of what the message names), then the chains follow.
  await subscribeReload(ctx.newRedisConnection('scheduler-reload'), queuePrefix, (message) => {
    runtime.manager
      .reload(message)
      .catch(() => undefined)
      .finally(() => reconcile('reload'))
  })

  return {
    timekeeper,
    get shardWorkers() {
      return [...workers.values()]
    },
    eventsPartitions,
    ownership,
    closers: [
      { name: 'events partition maintenance', close: () => eventsPartitions.close() },
      { name: 'plugin log retention', close: () => logRetention.close() },
      { name: 'dead letter retention', close: () => deadLetters.close() },
      { name: 'deleted config cleanup', close: () => configCleanup.close() },
      {
        name: 'scheduler workers',
        close: async () => {
          // Leaving the replica set first hands the shards to the others at their next heartbeat.
          if (ownership) await ownership.close()
          else for (const shard of [...workers.keys()]) stopWorker(shard)
          await Promise.all([...stopping])
        },
      },
      {
        name: 'scheduler reconciler',
        close: async () => {
          clearInterval(timer)
          await timekeeper.reconcile().catch(() => undefined)
        },
      },
      ...runtime.closers,
      { name: 'scheduled queues', close: () => queues.close() },
    ],
    checks: [
      ...runtime.checks,
      {
        name: 'scheduler workers',
        check: async () => {
          const stopped = [...workers].filter(([, w]) => !w.isRunning()).map(([shard]) => shard)
          if (stopped.length > 0) throw new Error(`scheduler worker of shard(s) ${stopped.join(', ')} is not running`)
        },
      },
    ],
  }
}
