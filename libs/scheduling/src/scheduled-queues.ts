import { createQueue, ScheduledShardQueueName, scheduledShardQueue } from '@plugin-server/core'
import type { Queue } from 'bullmq'
import type Redis from 'ioredis'
import type { ScheduledTaskData } from './interfaces'

/**
 * The scheduler's chains, spread over SCHEDULER_SHARDS BullMQ queues by config id (id mod shards):
 * every chain of a config lives in its config's shard, so the replica that owns a shard runs, and
 * loads, only that shard's configs. With one shard this is the single `scheduled` queue.
 */
export class ScheduledQueues {
  private readonly queues = new Map<number, Queue<ScheduledTaskData>>()

  constructor(
    private readonly connection: Redis,
    private readonly queuePrefix: string,
    readonly shards: number,
  ) {}

  shardOf(pluginConfigId: number): number {
    return pluginConfigId % this.shards
  }

  nameOf(shard: number): ScheduledShardQueueName {
    return scheduledShardQueue(shard, this.shards)
  }

  at(shard: number): Queue<ScheduledTaskData> {
    let queue = this.queues.get(shard)
    if (!queue) {
      queue = createQueue<ScheduledTaskData>(this.nameOf(shard), this.connection, this.queuePrefix, {
        defaultJobOptions: { removeOnComplete: { age: 3600, count: 1000 }, removeOnFail: { age: 7 * 24 * 3600, count: 1000 } },
      })
      this.queues.set(shard, queue)
    }
    return queue
  }

  forConfig(pluginConfigId: number): Queue<ScheduledTaskData> {
    return this.at(this.shardOf(pluginConfigId))
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()))
  }
}
