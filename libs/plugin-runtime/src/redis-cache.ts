import type Redis from 'ioredis'
import type { CacheGet, CacheSet, PluginCache } from '@plugin-server/plugin-vm'
import { redisKeys } from '@plugin-server/core'

/**
 * INCR of every key, in order, as one command: a batch of events each counting something costs the
 * client one command instead of one per event (ioredis spends ~5 µs of CPU per command, the script
 * ~1 µs more of Redis per key). pcall: a key holding something else than a count gets its own error,
 * and the keys after it still count.
 */
const INCR_MANY_SCRIPT = "local counts = {} for i, key in ipairs(KEYS) do counts[i] = redis.pcall('INCR', key) end return counts"
/**
 * SET of every key to its value (ARGV: value, then seconds to live or 0), in order, as one command;
 * pcall, so each key answers its own error.
 */
const SET_MANY_SCRIPT = `local results = {}
for i, key in ipairs(KEYS) do
  local ttl = tonumber(ARGV[i * 2])
  local reply = ttl > 0 and redis.pcall('SET', key, ARGV[i * 2 - 1], 'EX', ttl) or redis.pcall('SET', key, ARGV[i * 2 - 1])
  results[i] = type(reply) == 'table' and reply.err and reply or 1
end
return results`
/** Keys per script or MGET: Redis runs nothing else meanwhile. */
const MANY_CHUNK = 500

/**
 * `meta.cache`, one Redis namespace per (plugin, team): a team's plugin can only ever name keys
 * under its own prefix. Values are JSON-encoded unless the plugin asks for raw strings.
 */
export class RedisPluginCache implements PluginCache {
  /** Built once: redisKeys makes an object of every key's function, too much to make per key of a batch. */
  private readonly keys: ReturnType<typeof redisKeys>

  constructor(
    private readonly redis: Redis,
    queuePrefix: string,
    private readonly pluginId: number,
    private readonly teamId: number,
  ) {
    this.keys = redisKeys(queuePrefix)
  }

  async set(key: string, value: unknown, ttlSeconds?: number, options?: { jsonSerialize?: boolean }): Promise<void> {
    const encoded = encode(value, options)
    const ttl = secondsToLive(ttlSeconds)
    if (ttl > 0) await this.redis.set(this.key(key), encoded, 'EX', ttl)
    else await this.redis.set(this.key(key), encoded)
  }

  /** One script call per chunk for a run of sets: one command instead of one per event. */
  async setMany(sets: readonly CacheSet[]): Promise<(undefined | Error)[]> {
    const replies = await this.many(
      sets,
      (set) => set.key,
      (keys, chunk) => {
        const argv = chunk.flatMap(({ value, ttlSeconds, options }) => [encode(value, options), String(secondsToLive(ttlSeconds))])
        return this.redis.eval(SET_MANY_SCRIPT, keys.length, ...keys, ...argv) as Promise<unknown[]>
      },
    )
    return replies.map((reply) => (reply instanceof Error ? reply : undefined))
  }

  async get(key: string, defaultValue: unknown, options?: { jsonSerialize?: boolean }): Promise<unknown> {
    return decode(await this.redis.get(this.key(key)), defaultValue, options)
  }

  /** One MGET per chunk for a run of gets (a batch of events each reading something): one command instead of one per event. */
  async getMany(gets: readonly CacheGet[]): Promise<unknown[]> {
    const raws = await this.many(
      gets,
      (get) => get.key,
      (keys) => this.redis.mget(keys),
    )
    return raws.map((raw, i) => (raw instanceof Error ? raw : decode(raw as string | null, gets[i].defaultValue, gets[i].options)))
  }

  incr(key: string): Promise<number> {
    return this.redis.incr(this.key(key))
  }

  async incrMany(keys: readonly string[]): Promise<(number | Error)[]> {
    return (await this.many(
      keys,
      (key) => key,
      (counted) => this.redis.eval(INCR_MANY_SCRIPT, counted.length, ...counted) as Promise<unknown[]>,
    )) as (number | Error)[]
  }

  /**
   * A run of one operation over many keys: an item whose key is refused answers its own error; the
   * others go in chunks of MANY_CHUNK keys, every chunk sent now, before anything the caller sends
   * after this call (order is kept), and each answer is put back in its item's place.
   */
  private async many<T>(items: readonly T[], keyOf: (item: T) => string, send: (keys: string[], chunk: T[]) => Promise<unknown[]>): Promise<unknown[]> {
    const results: unknown[] = []
    const keys: string[] = []
    const kept: T[] = []
    const positions: number[] = []
    for (let i = 0; i < items.length; i++) {
      try {
        keys.push(this.key(keyOf(items[i])))
        kept.push(items[i])
        positions.push(i)
      } catch (error) {
        results[i] = error as Error
      }
    }
    const sent: Promise<unknown[]>[] = []
    for (let start = 0; start < keys.length; start += MANY_CHUNK) sent.push(send(keys.slice(start, start + MANY_CHUNK), kept.slice(start, start + MANY_CHUNK)))
    const chunks = await Promise.all(sent)
    for (let c = 0; c < chunks.length; c++) {
      for (let j = 0; j < chunks[c].length; j++) results[positions[c * MANY_CHUNK + j]] = chunks[c][j]
    }
    return results
  }

  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.expire(this.key(key), Math.ceil(ttlSeconds))) === 1
  }

  lpush(key: string, elementOrArray: unknown): Promise<number> {
    const elements = (Array.isArray(elementOrArray) ? elementOrArray : [elementOrArray]).map((e) => (typeof e === 'string' ? e : JSON.stringify(e)))
    return this.redis.lpush(this.key(key), ...elements)
  }

  lrange(key: string, startIndex: number, endIndex: number): Promise<string[]> {
    return this.redis.lrange(this.key(key), startIndex, endIndex)
  }

  llen(key: string): Promise<number> {
    return this.redis.llen(this.key(key))
  }

  async lpop(key: string, count: number): Promise<string[]> {
    return (await this.redis.lpop(this.key(key), count)) ?? []
  }

  lrem(key: string, count: number, elementKey: string): Promise<number> {
    return this.redis.lrem(this.key(key), count, elementKey)
  }

  private key(key: string): string {
    if (typeof key !== 'string' || key === '') throw new Error('cache key must be a non-empty string')
    return this.keys.cache(this.pluginId, this.teamId, key)
  }
}

/** Whole seconds for `EX`, 0 for none (no TTL, or not a positive number). */
function secondsToLive(ttlSeconds: number | undefined): number {
  // A plugin may pass the seconds as text ('60'), as PostHog's cache took them.
  const seconds = Number(ttlSeconds ?? 0)
  return seconds > 0 ? Math.ceil(seconds) : 0
}

/** A stored value as `get` answers it: JSON-decoded unless asked for raw text; text that is not JSON as it is. */
function decode(raw: string | null, defaultValue: unknown, options?: { jsonSerialize?: boolean }): unknown {
  if (raw === null) return defaultValue
  if (options?.jsonSerialize === false) return raw
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

function encode(value: unknown, options?: { jsonSerialize?: boolean }): string {
  if (options?.jsonSerialize === false) return String(value)
  return JSON.stringify(value) ?? 'null'
}
