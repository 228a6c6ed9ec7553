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
    const results: (undefined | Error)[] = []
    const keys: string[] = []
    const argv: string[] = []
    const positions: number[] = []
    for (let i = 0; i < sets.length; i++) {
      const { key, value, ttlSeconds, options } = sets[i]
      try {
        keys.push(this.key(key))
        argv.push(encode(value, options), String(secondsToLive(ttlSeconds)))
        positions.push(i)
      } catch (error) {
        results[i] = error as Error
      }
    }
    const sent: Promise<unknown>[] = []
    for (let start = 0; start < keys.length; start += MANY_CHUNK) {
      const chunk = keys.slice(start, start + MANY_CHUNK)
      sent.push(this.redis.eval(SET_MANY_SCRIPT, chunk.length, ...chunk, ...argv.slice(start * 2, (start + chunk.length) * 2)))
    }
    const chunks = (await Promise.all(sent)) as (number | Error)[][]
    for (let c = 0; c < chunks.length; c++) {
      for (let j = 0; j < chunks[c].length; j++) {
        const reply = chunks[c][j]
        results[positions[c * MANY_CHUNK + j]] = reply instanceof Error ? reply : undefined
      }
    }
    return results
  }

  async get(key: string, defaultValue: unknown, options?: { jsonSerialize?: boolean }): Promise<unknown> {
    return decode(await this.redis.get(this.key(key)), defaultValue, options)
  }

  /** One MGET per chunk for a run of gets (a batch of events each reading something): one command instead of one per event. */
  async getMany(gets: readonly CacheGet[]): Promise<unknown[]> {
    const results: unknown[] = []
    const read: string[] = []
    const positions: number[] = []
    for (let i = 0; i < gets.length; i++) {
      try {
        read.push(this.key(gets[i].key))
        positions.push(i)
      } catch (error) {
        results[i] = error as Error
      }
    }
    // Every chunk is sent now, before anything the caller sends after this call: order is kept.
    const sent: Promise<(string | null)[]>[] = []
    for (let start = 0; start < read.length; start += MANY_CHUNK) sent.push(this.redis.mget(read.slice(start, start + MANY_CHUNK)))
    const chunks = await Promise.all(sent)
    for (let c = 0; c < chunks.length; c++) {
      for (let j = 0; j < chunks[c].length; j++) {
        const i = positions[c * MANY_CHUNK + j]
        results[i] = decode(chunks[c][j], gets[i].defaultValue, gets[i].options)
      }
    }
    return results
  }

  incr(key: string): Promise<number> {
    return this.redis.incr(this.key(key))
  }

  async incrMany(keys: readonly string[]): Promise<(number | Error)[]> {
    const results: (number | Error)[] = []
    const counted: string[] = []
    const positions: number[] = []
    for (let i = 0; i < keys.length; i++) {
      try {
        counted.push(this.key(keys[i]))
        positions.push(i)
      } catch (error) {
        results[i] = error as Error
      }
    }
    // Every chunk is sent now, before anything the caller sends after this call: order is kept.
    const sent: Promise<unknown>[] = []
    for (let start = 0; start < counted.length; start += MANY_CHUNK) {
      const chunk = counted.slice(start, start + MANY_CHUNK)
      sent.push(this.redis.eval(INCR_MANY_SCRIPT, chunk.length, ...chunk))
    }
    const chunks = (await Promise.all(sent)) as (number | Error)[][]
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
