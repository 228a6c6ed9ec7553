import type { ChainableCommander } from 'ioredis'
import type Redis from 'ioredis'
import type { MetricOperation } from '@plugin-server/plugin-vm'

/**
 * Plugin metrics (`export const metrics = { name: 'sum' | 'max' | 'min' }`) aggregated across the
 * whole fleet in one Redis hash per plugin config, so every worker's updates land in one value.
 */
export function metricsKey(queuePrefix: string, pluginConfigId: number): string {
  return `${queuePrefix}:plugin-metrics:${pluginConfigId}`
}

const UPDATE = `
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
  const result = await redis.eval(UPDATE, 1, metricsKey(queuePrefix, pluginConfigId), name, operation, String(value))
  return Number(result)
}

/** `sum` updates queued on the caller's pipeline, for writers that batch them with other commands; same storage as updateMetric. */
export function addMetricSums(pipeline: ChainableCommander, queuePrefix: string, pluginConfigId: number, sums: Readonly<Record<string, number>>): void {
  for (const [name, value] of Object.entries(sums)) pipeline.hincrbyfloat(metricsKey(queuePrefix, pluginConfigId), name, value)
}

export async function readMetrics(redis: Redis, queuePrefix: string, pluginConfigId: number): Promise<Record<string, number>> {
  const raw = await redis.hgetall(metricsKey(queuePrefix, pluginConfigId))
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]))
}
