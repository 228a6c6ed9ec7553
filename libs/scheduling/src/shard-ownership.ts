import { randomUUID } from 'node:crypto'
import type { Logger } from '@plugin-server/core'
import type Redis from 'ioredis'
import { dealShards, RENDEZVOUS_ID_PREFIX } from './shard-deal'
import { schedulingKeys } from './scheduling-keys'

export interface ShardOwnershipOptions {
  redis: Redis
  queuePrefix: string
  logger: Logger
  shards: number
  /** A replica whose heartbeat is older than this is gone and its shards go to the others. */
  leaseMs: number
  /** Told the shards this replica owns now, whenever that changes (sorted). */
  onChange: (owned: number[]) => Promise<void>
}

/**
 * Which of the SCHEDULER_SHARDS shards this replica runs. Every replica beats a heartbeat into one
 * sorted set (scored with Redis's clock, so replicas' clocks do not matter) every quarter lease and
 * drops members older than the lease; the live members deal the shards out among themselves, each
 * its share, a replica joining or leaving moving few shards besides its own (./shard-deal.ts). Every
 * replica computes the same deal from the same set, so no lock is needed; while a join or a departure is seen by some replicas and not yet by others, a
 * shard can have two owners or none for up to a quarter lease. Two owners are harmless (a chain's
 * runs are single-flight whoever works its queue); none delays its runs, as a crashed replica's
 * run is delayed by its lease today.
 */
export class ShardOwnership {
  readonly replicaId = RENDEZVOUS_ID_PREFIX + randomUUID()
  private owned: number[] = []
  private timer: NodeJS.Timeout | null = null
  private beating: Promise<void> | null = null
  private closed = false

  constructor(private readonly options: ShardOwnershipOptions) {}

  get shards(): readonly number[] {
    return this.owned
  }

  async start(): Promise<void> {
    await this.beat()
    this.timer = setInterval(() => void this.beat(), Math.max(100, Math.floor(this.options.leaseMs / 4)))
    this.timer.unref()
  }

  /** Leaves the set at once, so the others take this replica's shards at their next beat. */
  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    await this.beating
    await this.options.redis.zrem(schedulingKeys.replicas(this.options.queuePrefix), this.replicaId).catch(() => undefined)
    await this.apply([])
  }

  private beat(): Promise<void> {
    if (this.closed) return Promise.resolve()
    // One beat at a time: a slow Redis must not pile up beats that apply stale deals out of order.
    this.beating ??= this.beatOnce()
      .catch((err: Error) => this.options.logger.warn({ err: err.message }, 'scheduler shard heartbeat failed; keeping the shards it had'))
      .finally(() => (this.beating = null))
    return this.beating
  }

  private async beatOnce(): Promise<void> {
    const { redis, queuePrefix, leaseMs, shards } = this.options
    const key = schedulingKeys.replicas(queuePrefix)
    const [seconds, micros] = await redis.time()
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
    const [, , members] = (await redis
      .multi()
      .zadd(key, now, this.replicaId)
      .zremrangebyscore(key, '-inf', now - leaseMs)
      .zrange(key, 0, -1)
      .exec()) as [unknown, unknown, [Error | null, string[]]]
    if (members[0]) throw members[0]
    if (this.closed) return
    await this.apply(dealShards(this.replicaId, members[1], shards))
  }

  private async apply(owned: number[]): Promise<void> {
    if (owned.length === this.owned.length && owned.every((s, i) => s === this.owned[i])) return
    this.options.logger.info({ replica: this.replicaId, shards: owned, was: this.owned }, 'scheduler shards owned')
    this.owned = owned
    await this.options.onChange(owned)
  }
}
