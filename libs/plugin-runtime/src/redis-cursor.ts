import type Redis from 'ioredis'
import type { PluginCursor } from '@plugin-server/plugin-vm'
import { redisKeys } from '@plugin-server/core'
import { CURSOR_INCREMENT, CURSOR_INIT } from './redis-account-scripts'
import type { TeamRedisAccount } from './team-redis-account'

/**
 * `meta.utils.cursor`: fleet-wide atomic counters (e.g. paging through an external API once,
 * fleet-wide). A plugin names them, so each new one is counted in its team's account.
 */
export class RedisPluginCursor implements PluginCursor {
  constructor(
    private readonly redis: Redis,
    private readonly queuePrefix: string,
    private readonly pluginConfigId: number,
    private readonly account: TeamRedisAccount,
  ) {}

  async init(key: string, initialValue = 0): Promise<void> {
    await this.write(CURSOR_INIT, key, initialValue, 'init')
  }

  async increment(key: string, incrementBy = 1): Promise<number> {
    return (await this.write(CURSOR_INCREMENT, key, incrementBy, 'increment')) as number
  }

  /** The current value without changing it (dry runs); null when the cursor was never set. */
  async value(key: string): Promise<number | null> {
    const raw = await this.redis.get(this.key(key))
    return raw === null ? null : Number(raw)
  }

  private async write(lua: string, key: string, value: number, op: string): Promise<unknown> {
    try {
      return await this.account.run(lua, [this.key(key)], [String(value)])
    } catch (error) {
      throw this.account.refusal(error as Error, `utils.cursor.${op}`)
    }
  }

  private key(name: string): string {
    return redisKeys(this.queuePrefix).cursor(this.pluginConfigId, name)
  }
}
