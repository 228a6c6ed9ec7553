import { createHash } from 'node:crypto'
import type Redis from 'ioredis'
import { pluginJobReservedBytes, redisKeys } from '@plugin-server/core'
import type { PluginJobData } from '@plugin-server/core'
import { limitError, RESERVE_JOB } from './redis-account-scripts'

/**
 * One team's account of what its plugins hold in Redis (PLUGIN_TEAM_REDIS_LIMIT_MB): the cache's
 * writes run through it (RedisPluginCache), and each job a plugin enqueues is reserved in it first.
 * The scripts and how they count are in redis-account-scripts.ts.
 */
export class TeamRedisAccount {
  private readonly keys: string[]
  private readonly limits: string

  /**
   * `limitBytes` 0: no limit (a reader such as Try it's never writes). `fleetLimitBytes`: every team's
   * plugins together (PLUGIN_REDIS_LIMIT_MB; 0: none). `refused` counts each refusal by kind (cache, cursor, jobs).
   */
  constructor(
    private readonly redis: Redis,
    queuePrefix: string,
    readonly teamId: number,
    readonly limitBytes: number,
    private readonly options: { fleetLimitBytes?: number; refused?: (kind: string) => void } = {},
  ) {
    const keys = redisKeys(queuePrefix)
    const { sizes, expiries, checks, total } = keys.pluginRedisAccount(teamId)
    this.keys = [sizes, expiries, checks, total]
    this.limits = `${limitBytes} ${options.fleetLimitBytes ?? 0} ${keys.pluginRedisFleetTotal()}`
  }

  /**
   * A script of redis-account-scripts.ts over these keys, with the account and the limit. By its
   * SHA: each script is ~3 KB, sent and hashed by Redis on every EVAL (measured 4–5 µs of Redis per
   * call more than EVALSHA, for one key). A client's first call of a script sends SCRIPT LOAD just
   * before it on the same connection, and nothing is awaited before the call is sent, so calls reach
   * Redis in the order the plugin made them; a script Redis has lost since (a restart, SCRIPT FLUSH)
   * is sent whole (NOSCRIPT).
   */
  run(lua: string, keys: readonly string[], argv: readonly string[]): Promise<unknown> {
    return runScript(this.redis, lua, [...this.keys, ...keys], [this.limits, ...argv])
  }

  /** A script's refusal as an error naming the limit and `what` was refused; any other error as it is. */
  refusal(error: Error, what: string): Error {
    const refusal = limitError(error, what, this.teamId, this.limitBytes)
    if (!refusal) return error
    this.options.refused?.(what.startsWith('utils.cursor') ? 'cursor' : what.split('.')[0])
    return refusal
  }

  /**
   * Holds what BullMQ may keep of the job `data` under `jobKey` (pluginJobReservedBytes: its failure
   * too), or throws the refusal (`what`: the call refused).
   */
  async reserveJob(jobKey: string, data: PluginJobData, what: string): Promise<void> {
    try {
      await this.run(RESERVE_JOB, [jobKey], [String(pluginJobReservedBytes(data))])
    } catch (error) {
      throw this.refusal(error as Error, what)
    }
  }
}

/** `lua` over `keys` by its SHA, sent whole if Redis has lost it (see TeamRedisAccount.run). */
export async function runScript(redis: Redis, lua: string, keys: readonly string[], argv: readonly string[]): Promise<unknown> {
  load(redis, lua)
  try {
    return await redis.evalsha(sha1(lua), keys.length, ...keys, ...argv)
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
    return redis.eval(lua, keys.length, ...keys, ...argv)
  }
}

const shas = new Map<string, string>()
const loads = new WeakMap<Redis, Set<string>>()

/** Sends SCRIPT LOAD of `lua` on this client unless it already has (not awaited: see run). */
function load(redis: Redis, lua: string): void {
  let sent = loads.get(redis)
  if (!sent) {
    const scripts = (sent = new Set())
    loads.set(redis, scripts)
    // A reconnect may be to a Redis that lost its scripts (a restart): load them again ahead of the next calls, or
    // every call would go out by SHA, come back NOSCRIPT and be sent again after later calls.
    redis.on('ready', () => scripts.clear())
  }
  if (sent.has(lua)) return
  sent.add(lua)
  redis.script('LOAD', lua).catch(() => sent.delete(lua))
}

function sha1(lua: string): string {
  let sha = shas.get(lua)
  if (!sha) shas.set(lua, (sha = createHash('sha1').update(lua).digest('hex')))
  return sha
}
