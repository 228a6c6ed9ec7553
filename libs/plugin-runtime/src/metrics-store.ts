import type { ChainableCommander } from 'ioredis'
import type Redis from 'ioredis'
import type { MetricOperation } from '@plugin-server/plugin-vm'
import { forgetPluginMetrics, redisKeys } from '@plugin-server/core'

/**
 * Plugin metrics (`export const metrics = { name: 'sum' | 'max' | 'min' }`) aggregated across the
 * whole fleet in one Redis hash per plugin config, so every worker's updates land in one value.
 */
export function metricsKey(queuePrefix: string, pluginConfigId: number): string {
  return redisKeys(queuePrefix).pluginMetrics(pluginConfigId)
}

/**
 * The ids of every config with a metrics hash, written with the hash, so a /metrics scrape reads
 * them in one round trip instead of SCANning the whole keyspace.
 */
export function metricsIndexKey(queuePrefix: string): string {
  return redisKeys(queuePrefix).pluginMetricsConfigs()
}

const UPDATE = `
redis.call('SADD', KEYS[2], ARGV[4])
local current = redis.call('HGET', KEYS[1], ARGV[1])
local value = tonumber(ARGV[3])
if ARGV[2] == 'sum' then return redis.call('HINCRBYFLOAT', KEYS[1], ARGV[1], value) end
if current == false or (ARGV[2] == 'max' and value > tonumber(current)) or (ARGV[2] == 'min' and value < tonumber(current)) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return ARGV[3]
end
return current
`

export async function updateMetric(
  redis: Redis,
  queuePrefix: string,
  pluginConfigId: number,
  name: string,
  operation: MetricOperation,
  value: number,
): Promise<number> {
  if (!Number.isFinite(value)) throw new Error(`metric ${name}: value must be a finite number, got ${String(value)}`)
  const keys = [metricsKey(queuePrefix, pluginConfigId), metricsIndexKey(queuePrefix)]
  const result = await redis.eval(UPDATE, keys.length, ...keys, name, operation, String(value), String(pluginConfigId))
  return Number(result)
}

/** `sum` updates queued on the caller's pipeline, for writers that batch them with other commands; same storage as updateMetric. */
export function addMetricSums(pipeline: ChainableCommander, queuePrefix: string, pluginConfigId: number, sums: Readonly<Record<string, number>>): void {
  const entries = Object.entries(sums)
  if (entries.length > 0) pipeline.sadd(metricsIndexKey(queuePrefix), String(pluginConfigId))
  for (const [name, value] of entries) pipeline.hincrbyfloat(metricsKey(queuePrefix, pluginConfigId), name, value)
}

/** Of some config ids, those whose config still exists. */
export type ExistingConfigIds = (ids: readonly number[]) => Promise<readonly number[]>

/**
 * Every indexed config's metrics in three round trips: the index, which of its configs exist, then
 * one pipeline of reads. A deleted config's hash and index entry are dropped here: management drops
 * them with the config, but a worker's write in flight then (or a Redis outage) leaves them behind.
 * Without an answer from Postgres every indexed config is read and nothing is dropped: the scrape
 * needed only Redis before, and must not go blank while Postgres is away.
 */
export async function readAllMetrics(redis: Redis, queuePrefix: string, existing: ExistingConfigIds): Promise<Map<number, Record<string, number>>> {
  const indexed = (await redis.smembers(metricsIndexKey(queuePrefix))).map(Number).filter(Number.isSafeInteger)
  const all = new Map<number, Record<string, number>>()
  if (indexed.length === 0) return all
  const live = new Set(await existing(indexed).catch(() => indexed))
  const ids = indexed.filter((id) => live.has(id))
  await forgetPluginMetrics(
    redis,
    queuePrefix,
    indexed.filter((id) => !live.has(id)),
  )
  if (ids.length === 0) return all
  const pipeline = redis.pipeline()
  for (const id of ids) pipeline.hgetall(metricsKey(queuePrefix, id))
  const replies = (await pipeline.exec()) ?? []
  ids.forEach((id, i) => {
    const [err, raw] = replies[i] ?? [null, null]
    if (err) throw err
    const entries = Object.entries((raw ?? {}) as Record<string, string>)
    if (entries.length > 0) all.set(id, Object.fromEntries(entries.map(([k, v]) => [k, Number(v)])))
  })
  return all
}

/**
 * Indexes metrics hashes written before the index existed: one SCAN of the keyspace, run once when
 * a process starts reporting them rather than at every scrape.
 */
export async function indexExistingMetrics(redis: Redis, queuePrefix: string): Promise<void> {
  const prefix = metricsKey(queuePrefix, 0).slice(0, -1)
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    const ids = keys.map((key) => key.slice(prefix.length)).filter((id) => /^\d+$/.test(id))
    if (ids.length > 0) await redis.sadd(metricsIndexKey(queuePrefix), ...ids)
  } while (cursor !== '0')
}

export async function readMetrics(redis: Redis, queuePrefix: string, pluginConfigId: number): Promise<Record<string, number>> {
  const raw = await redis.hgetall(metricsKey(queuePrefix, pluginConfigId))
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]))
}
