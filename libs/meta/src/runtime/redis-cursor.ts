import type Redis from 'ioredis'
import type { PluginCursor } from '@plugin-server/plugin-vm'

/** `meta.utils.cursor`: fleet-wide atomic counters (e.g. paging through an external API once, fleet-wide). */
export class RedisPluginCursor implements PluginCursor {
  private readonly prefix: string

  constructor(
    private readonly redis: Redis,
    queuePrefix: string,
    pluginConfigId: number,
  ) {
    this.prefix = `${queuePrefix}:cursor:${pluginConfigId}:`
  }

  async init(key: string, initialValue = 0): Promise<void> {
    await this.redis.set(this.prefix + key, String(initialValue), 'NX')
  }

  increment(key: string, incrementBy = 1): Promise<number> {
    return this.redis.incrby(this.prefix + key, incrementBy)
  }

  /** The current value without changing it (dry runs); null when the cursor was never set. */
  async value(key: string): Promise<number | null> {
    const raw = await this.redis.get(this.prefix + key)
    return raw === null ? null : Number(raw)
  }
}
