import type Redis from 'ioredis'
import type { CacheSet, PluginCache } from '@plugin-server/plugin-vm'
import { redisKeys } from '@plugin-server/core'
import { EXPIRE, INCR_MANY, LPOP, LPUSH, LRANGE, LREM, SET_MANY } from './redis-account-scripts'
import { READ_MANY } from './read-many-script'
import { runScript, type TeamRedisAccount } from './team-redis-account'

/** Keys per script or MGET: Redis runs nothing else meanwhile. */
const MANY_CHUNK = 500
/**
 * Characters of values per SET script (at most 3 bytes each), for the same reason: a plugin setting
 * many values near PLUGIN_CACHE_MAX_VALUE_BYTES in one turn would otherwise have Redis copy up to
 * its whole heap in one script while every other team's client waits.
 */
const MANY_CHUNK_CHARS = 1024 * 1024
/** PLUGIN_CACHE_MAX_VALUE_BYTES's default. */
const DEFAULT_MAX_REPLY_BYTES = 1024 * 1024

/**
 * `meta.cache`, one Redis namespace per (plugin, team): a team's plugin can only ever name keys
 * under its own prefix. Values are JSON-encoded unless the plugin asks for raw strings. Every write
 * goes through a script of redis-account-scripts.ts that keeps the team's account, so the team's
 * plugins together hold at most its limit (PLUGIN_TEAM_REDIS_LIMIT_MB). What one `lrange` or `lpop`
 * brings back is bounded too, in Redis before it is sent: at most `maxReplyBytes`
 * (PLUGIN_CACHE_MAX_VALUE_BYTES, the most one value may hold) of elements.
 */
export class RedisPluginCache implements PluginCache {
  /** Built once: redisKeys makes an object of every key's function, too much to make per key of a batch. */
  private readonly keys: ReturnType<typeof redisKeys>

  constructor(
    private readonly redis: Redis,
    queuePrefix: string,
    private readonly pluginId: number,
    private readonly account: TeamRedisAccount,
    private readonly maxReplyBytes: number = DEFAULT_MAX_REPLY_BYTES,
  ) {
    this.keys = redisKeys(queuePrefix)
  }

  async set(key: string, value: unknown, ttlSeconds?: number, options?: { jsonSerialize?: boolean }): Promise<void> {
    const [reply] = await this.setMany([{ key, value, ttlSeconds, options }])
    if (reply) throw reply
  }

  /** One script call per chunk for a run of sets: one command instead of one per event. */
  async setMany(sets: readonly CacheSet[]): Promise<(undefined | Error)[]> {
    const replies = await this.many(
      sets,
      ({ key, value, ttlSeconds, options }) => {
        const encoded = encode(value, options)
        return { key, bytes: encoded.length, payload: [encoded, String(secondsToLive(key, ttlSeconds))] }
      },
      (keys, argv) => this.script(SET_MANY, keys, argv.flat()) as Promise<unknown[]>,
    )
    return replies.map((reply) => (reply instanceof Error ? this.refusal(reply, 'set') : undefined))
  }

  async get(key: string, defaultValue: unknown, options?: { jsonSerialize?: boolean }): Promise<unknown> {
    return decodeCacheValue(await this.redis.get(this.key(key)), defaultValue, options)
  }

  /**
   * A run of gets (a batch of events each reading something) as one script per chunk of keys: the
   * values that fit in `maxBytes` (shared evenly by the chunks, which are sent at once), each chunk's
   * sizes checked in Redis before any value is sent (read-many-script.ts).
   */
  async readMany(keys: readonly string[], maxBytes: number): Promise<(string | null | Error | undefined)[]> {
    const chunkBytes = Math.floor(maxBytes / Math.ceil(keys.length / MANY_CHUNK))
    const answers = await this.many(
      keys,
      (key) => ({ key }),
      async (chunk) => {
        const [read, wrongType, values] = (await runScript(this.redis, READ_MANY, chunk, [String(chunkBytes)])) as [number, number[], (string | null)[]?]
        const answered: (string | null | Error | undefined)[] = chunk.map((_, j) => (j < read ? values![j] : undefined))
        for (const position of wrongType) answered[position - 1] = new Error('WRONGTYPE Operation against a key holding the wrong kind of value')
        return answered
      },
    )
    return answers as (string | null | Error | undefined)[]
  }

  async incr(key: string): Promise<number> {
    const [reply] = await this.incrMany([key])
    if (reply instanceof Error) throw reply
    return reply
  }

  async incrMany(keys: readonly string[]): Promise<(number | Error)[]> {
    const replies = await this.many(
      keys,
      (key) => ({ key }),
      (counted) => this.script(INCR_MANY, counted, []) as Promise<unknown[]>,
    )
    return replies.map((reply) => (reply instanceof Error ? this.refusal(reply, 'incr') : (reply as number)))
  }

  /**
   * A run of one operation over many keys: an item whose key (or payload) is refused answers its own
   * error; the others go in chunks of at most MANY_CHUNK keys and MANY_CHUNK_CHARS of payload characters (an
   * item larger than that alone), every chunk sent now, before anything the caller sends after this
   * call (order is kept), and each answer is put back in its item's place.
   */
  private async many<T, P = undefined>(
    items: readonly T[],
    prepare: (item: T) => { key: string; bytes?: number; payload?: P },
    send: (keys: string[], payloads: P[]) => Promise<unknown[]>,
  ): Promise<unknown[]> {
    const results: unknown[] = []
    const sent: Promise<void>[] = []
    let keys: string[] = []
    let payloads: P[] = []
    let positions: number[] = []
    let bytes = 0
    const flush = (): void => {
      const at = positions
      sent.push(send(keys, payloads).then((answers) => answers.forEach((answer, j) => (results[at[j]] = answer))))
      keys = []
      payloads = []
      positions = []
      bytes = 0
    }
    for (let i = 0; i < items.length; i++) {
      let prepared: { key: string; bytes?: number; payload?: P }
      let key: string
      try {
        prepared = prepare(items[i])
        key = this.key(prepared.key)
      } catch (error) {
        results[i] = error as Error
        continue
      }
      const size = prepared.bytes ?? 0
      if (keys.length === MANY_CHUNK || (keys.length > 0 && bytes + size > MANY_CHUNK_CHARS)) flush()
      keys.push(key)
      payloads.push(prepared.payload as P)
      positions.push(i)
      bytes += size
    }
    if (keys.length > 0) flush()
    await Promise.all(sent)
    return results
  }

  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    // As Redis' EXPIRE: 0 or less deletes the key. Checked here, or Redis answers "value is not an integer" naming nothing;
    // a negative past Redis' integers (-Infinity, -1e21 as text) is sent as the 0 it means.
    const seconds = Number(ttlSeconds)
    if (Number.isNaN(seconds)) throw new TypeError(`cache.expire(${quoted(key)}): ttlSeconds ${String(ttlSeconds)} is not a number of seconds`)
    return (await this.script(EXPIRE, [this.key(key)], [String(Math.max(0, Math.ceil(keepable(key, 'expire', seconds))))])) === 1
  }

  async lpush(key: string, elementOrArray: unknown): Promise<number> {
    const elements = (Array.isArray(elementOrArray) ? elementOrArray : [elementOrArray]).map((e) => (typeof e === 'string' ? e : JSON.stringify(e)))
    try {
      return (await this.script(LPUSH, [this.key(key)], elements)) as number
    } catch (error) {
      throw this.refusal(error as Error, 'lpush')
    }
  }

  async lrange(key: string, startIndex: number, endIndex: number): Promise<string[]> {
    const redisKey = this.key(key)
    if (!Number.isSafeInteger(startIndex) || !Number.isSafeInteger(endIndex)) throw new Error(`cache.lrange(${quoted(key)}): the indexes must be integers`)
    try {
      return (await this.script(LRANGE, [redisKey], [String(startIndex), String(endIndex), String(this.maxReplyBytes)])) as string[]
    } catch (error) {
      throw this.replyRefusal(error as Error, `cache.lrange(${quoted(key)}, ${startIndex}, ${endIndex})`)
    }
  }

  llen(key: string): Promise<number> {
    return this.redis.llen(this.key(key))
  }

  async lpop(key: string, count: number): Promise<string[]> {
    const redisKey = this.key(key)
    try {
      return (await this.script(LPOP, [redisKey], [String(count), String(this.maxReplyBytes)])) as string[]
    } catch (error) {
      throw this.replyRefusal(error as Error, `cache.lpop(${quoted(key)}, ${count})`)
    }
  }

  async lrem(key: string, count: number, elementKey: string): Promise<number> {
    return (await this.script(LREM, [this.key(key)], [String(count), String(elementKey)])) as number
  }

  /** A script of redis-account-scripts.ts over these cache keys, through the team's account. */
  private script(lua: string, keys: readonly string[], argv: readonly string[]): Promise<unknown> {
    return this.account.run(lua, keys, argv)
  }

  private refusal(error: Error, op: string): Error {
    return this.account.refusal(error, `cache.${op}`)
  }

  /** The scripts' REPLY_LIMIT as an error naming the call, its key and the limit; any other error as it is. */
  private replyRefusal(error: Error, call: string): Error {
    if (!error.message.startsWith('REPLY_LIMIT')) return error
    return new RangeError(
      `${call} refused: its elements hold more than ${this.maxReplyBytes} bytes together, the most one read may bring (PLUGIN_CACHE_MAX_VALUE_BYTES); read the list in shorter ranges`,
    )
  }

  private key(key: string): string {
    if (typeof key !== 'string' || key === '') throw new Error('cache key must be a non-empty string')
    return this.keys.cache(this.pluginId, this.account.teamId, key)
  }
}

/** A plugin's key as its errors show it: quoted, and short (keys may be up to PLUGIN_CACHE_MAX_KEY_BYTES). */
function quoted(key: string): string {
  return JSON.stringify(key.length > 100 ? `${key.slice(0, 100)}…` : key)
}

/** Whole seconds for `EX`, 0 for none (no TTL, or not a positive number). */
function secondsToLive(key: string, ttlSeconds: number | undefined): number {
  // A plugin may pass the seconds as text ('60'), as PostHog's cache took them.
  const seconds = Number(ttlSeconds ?? 0)
  return seconds > 0 ? Math.ceil(keepable(key, 'set', seconds)) : 0
}

/** About 285 000 years: the expiry stays a safe integer of milliseconds, well within what Redis takes. */
const CACHE_MAX_TTL_SECONDS = 9_000_000_000_000

/** A TTL longer than Redis takes (`Infinity` for "forever") failed with Redis' "invalid expire time", naming no key. */
function keepable(key: string, call: 'set' | 'expire', seconds: number): number {
  if (seconds > CACHE_MAX_TTL_SECONDS)
    throw new RangeError(
      `cache.${call}(${quoted(key)}): a ttl of ${seconds} seconds is longer than a key can be kept (${CACHE_MAX_TTL_SECONDS}); leave the ttl out to keep it`,
    )
  return seconds
}

/**
 * A stored value as `get` answers it: JSON-decoded unless asked for raw text; text that is not JSON
 * as it is. A missing key answers the default, or null without one: PostHog's cache never answered
 * undefined, and plugins test `=== null` (the in-memory cache of `plugin run` answers the same). The
 * sandbox decodes a plugin's reads the same way, with built-ins of its own (plugin-vm sandbox/meta.ts).
 */
export function decodeCacheValue(raw: string | null, defaultValue: unknown, options?: { jsonSerialize?: boolean }): unknown {
  if (raw === null) return defaultValue ?? null
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
