import type Redis from 'ioredis'
import type { PluginCursor } from '@plugin-server/plugin-vm'
import { redisKeys } from '@plugin-server/core'

/** `meta.utils.cursor`: fleet-wide atomic counters (e.g. paging through an external API once, fleet-wide). */
export class RedisPluginCursor implements PluginCursor {
  constructor(
    private readonly redis: Redis,
    private readonly queuePrefix: string,
    private readonly pluginConfigId: number,
  ) {}

  async init(key: string, initialValue = 0): Promise<void> {
    await this.redis.set(this.key(key), String(initialValue), 'NX')
  }

  increment(key: string, incrementBy = 1): Promise<number> {
    return this.redis.incrby(this.key(key), incrementBy)
  }

  /** The current value without changing it (dry runs); null when the cursor was never set. */
  async value(key: string): Promise<number | null> {
    const raw = await this.redis.get(this.key(key))
    return raw === null ? null : Number(raw)
  }

  private key(name: string): string {
    return redisKeys(this.queuePrefix).cursor(this.pluginConfigId, name)
  }
}
