import { deduplicationJobIds, dropDeduplicatedSuccessor, jobsExist, type Logger } from '@plugin-server/core'
import type { PluginManager } from '@plugin-server/plugin-runtime'
import type Redis from 'ioredis'
import type { Pool } from 'pg'
import { enabledConfigIds, readConfigStatus } from './config-status'
import { SCHEDULED_TASKS, ScheduledTask, ScheduledTaskData } from './interfaces'
import { chainHeadOptions } from './scheduled-queue'
import type { ScheduledQueues } from './scheduled-queues'
import type { SchedulerMetrics } from './scheduler-metrics'
import { schedulingKeys } from './scheduling-keys'
import { chainId } from './task-interval'
import { firstDue, taskSchedule } from './task-schedule'

export interface TimekeeperDeps {
  manager: PluginManager
  queues: ScheduledQueues
  redis: Redis
  pool: Pool
  logger: Logger
  metrics: SchedulerMetrics
  queuePrefix: string
  timeScale: number
}

export interface ReconcileResult {
  chains: number
  created: string[]
  removed: string[]
}

const CHAIN = /^chain-(\d+)-(runEvery(?:Minute|Hour|Day))$/
const LOAD_CONCURRENCY = 8

/**
 * The reconciler: makes the chains in Redis match the enabled configs. Every replica runs it (on
 * start, on reload messages, periodically); that is safe because creating a chain that exists is
 * a no-op (deduplication id) and a chain is removed only when Postgres says its config is off.
 */
export class Timekeeper {
  private running: Promise<ReconcileResult> | null = null
  private again = false

  constructor(private readonly deps: TimekeeperDeps) {}

  /** Coalesces overlapping requests into one more pass after the current one. */
  reconcile(): Promise<ReconcileResult> {
    if (this.running) {
      this.again = true
      return this.running
    }
    this.running = (async () => {
      let result: ReconcileResult
      do {
        this.again = false
        result = await this.pass()
      } while (this.again)
      return result
    })().finally(() => (this.running = null))
    return this.running
  }

  private async pass(): Promise<ReconcileResult> {
    const timer = this.deps.metrics.reconcileSeconds.startTimer()
    const { wanted, unknown } = await this.wantedChains()
    const alive = await this.aliveChains(wanted)
    const known = new Set(await this.deps.redis.smembers(schedulingKeys.chains(this.deps.queuePrefix)))
    const created: string[] = []
    for (const [chain, data] of wanted) {
      if (alive.has(chain)) continue
      await this.create(chain, data, known.has(chain) ? 'lost' : 'new')
      created.push(chain)
    }
    const removed = await this.removeStale(
      [...known].filter((chain) => !wanted.has(chain)),
      unknown,
    )
    this.deps.metrics.chains.set(wanted.size)
    timer()
    if (created.length + removed.length > 0)
      this.deps.logger.info({ created: created.length, removed: removed.length, chains: wanted.size }, 'scheduler reconciled task chains')
    return { chains: wanted.size, created, removed }
  }

  /**
   * Chains every enabled config needs, from what its version row says it exports: no plugin is
   * loaded for this. A version whose exports are not recorded yet is loaded once to learn them (the
   * manager records them); if it cannot be set up, its config is `unknown` and its chains are left alone.
   */
  private async wantedChains(): Promise<{ wanted: Map<string, ScheduledTaskData>; unknown: Set<number> }> {
    const wanted = new Map<string, ScheduledTaskData>()
    const unknown = new Set<number>()
    const { manager } = this.deps
    const records = [...manager.enabledConfigs()]
    const next = async (): Promise<void> => {
      for (let record = records.shift(); record; record = records.shift()) {
        const methods = manager.capabilitiesOf(record.id)?.methods ?? (await manager.config(record.id).catch(() => null))?.methods
        if (!methods) {
          unknown.add(record.id)
          continue
        }
        for (const task of SCHEDULED_TASKS) {
          if (methods.includes(task)) wanted.set(chainId(record.id, task), { teamId: record.teamId, pluginConfigId: record.id, task })
        }
      }
    }
    await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, next))
    return { wanted, unknown }
  }

  /** A chain is alive while its deduplication key names a job that still exists (delayed, waiting or active). */
  private async aliveChains(wanted: Map<string, ScheduledTaskData>): Promise<Set<string>> {
    const { queues } = this.deps
    const byShard = new Map<number, string[]>()
    for (const [chain, data] of wanted) {
      const shard = queues.shardOf(data.pluginConfigId)
      const chains = byShard.get(shard)
      if (chains) chains.push(chain)
      else byShard.set(shard, [chain])
    }
    const alive = new Set<string>()
    for (const [shard, chains] of byShard) {
      for (const chain of await this.aliveIn(shard, chains)) alive.add(chain)
    }
    return alive
  }

  private async aliveIn(shard: number, chains: string[]): Promise<string[]> {
    const { redis } = this.deps
    const queue = this.deps.queues.at(shard)
    const ids = await deduplicationJobIds(redis, queue, chains)
    const candidates = chains.map((chain, i) => [chain, ids[i]] as const).filter((entry): entry is readonly [string, string] => entry[1] !== null)
    const exists = await jobsExist(
      redis,
      queue,
      candidates.map(([, id]) => id),
    )
    return candidates.filter((_, i) => exists[i]).map(([chain]) => chain)
  }

  /** The first run is due as firstDue says: never in the period the chain's last run ended in, when that is known. */
  private async create(chain: string, data: ScheduledTaskData, reason: 'new' | 'lost'): Promise<void> {
    const { queues, redis, queuePrefix, timeScale } = this.deps
    await redis.sadd(schedulingKeys.chains(queuePrefix), chain)
    const lastFinish = Number(await redis.hget(schedulingKeys.lastFinish(queuePrefix), chain))
    const now = Date.now()
    const dueAt = firstDue(taskSchedule(data.pluginConfigId, data.task, timeScale), data.task, now, lastFinish > 0 ? lastFinish : null)
    const delay = Math.max(0, dueAt - now)
    await queues.forConfig(data.pluginConfigId).add(data.task, { ...data, dueAt }, chainHeadOptions(chain, delay))
    this.deps.metrics.chainsCreated.inc({ reason })
    this.deps.logger.info({ plugin_config_id: data.pluginConfigId, task: data.task, reason, delay_ms: delay }, 'scheduled task chain created')
  }

  private async removeStale(candidates: string[], unknown: Set<number>): Promise<string[]> {
    const parsed = candidates.map((chain) => ({ chain, match: CHAIN.exec(chain) }))
    const ids = parsed.flatMap(({ match }) => (match ? [Number(match[1])] : []))
    const stillEnabled = await enabledConfigIds(this.deps.pool, ids)
    const ready = new Set(
      this.deps.manager
        .enabledConfigs()
        .map((r) => r.id)
        .filter((id) => !unknown.has(id)),
    )
    const removed: string[] = []
    for (const { chain, match } of parsed) {
      const id = match ? Number(match[1]) : NaN
      // Enabled and set up here without exporting the task: the plugin changed. Enabled but not known here: leave it to the replicas that know.
      const reason = !match ? 'invalid' : !stillEnabled.has(id) ? 'disabled' : ready.has(id) ? 'not exported' : null
      if (!reason) continue
      // A disabled config keeps its last run's end: enabled again, its chain does not run a second time in that run's period.
      const forget = reason !== 'disabled' || (await readConfigStatus(this.deps.pool, id)) === null
      if (await this.remove(chain, (match?.[2] ?? 'runEveryMinute') as ScheduledTask, match ? id : 0, forget)) {
        removed.push(chain)
        this.deps.metrics.chainsRemoved.inc({ reason })
        this.deps.logger.info({ chain, reason }, 'scheduled task chain removed')
      }
    }
    return removed
  }

  /**
   * A waiting or delayed run is removed (BullMQ drops the deduplication key with it). A running one
   * cannot be: its stored successor is dropped instead, and the next pass finishes the job.
   */
  private async remove(chain: string, task: ScheduledTask, pluginConfigId: number, forgetLastFinish: boolean): Promise<boolean> {
    const { redis, queuePrefix } = this.deps
    const queue = this.deps.queues.forConfig(pluginConfigId)
    const jobId = await queue.getDeduplicationJobId(chain)
    const job = jobId ? await queue.getJob(jobId) : undefined
    if (job) {
      if ((await job.getState()) === 'active') {
        await dropDeduplicatedSuccessor(redis, queue, chain)
        return false
      }
      try {
        await job.remove()
      } catch (err) {
        this.deps.logger.debug({ chain, task, err: (err as Error).message }, 'scheduled run could not be removed yet (it started), retrying on the next pass')
        return false
      }
    }
    await queue.removeDeduplicationKey(chain)
    await dropDeduplicatedSuccessor(redis, queue, chain)
    await redis.srem(schedulingKeys.chains(queuePrefix), chain)
    if (forgetLastFinish) await redis.hdel(schedulingKeys.lastFinish(queuePrefix), chain)
    return true
  }
}
