import type { Redis } from 'ioredis'

/**
 * For each uuid, the Redis keys under `prefix` whose value still mentions it (a hand-off or
 * delivery job, an export buffer, a dead letter…), or "nowhere in Redis": tells an event that is
 * stuck from one that is gone. Reads every key under the prefix, so it is only for the few ids a
 * discrepancy names.
 */
export async function locateInRedis(redis: Redis, prefix: string, uuids: string[]): Promise<Map<string, string>> {
  const found = new Map<string, string[]>(uuids.map((u) => [u, []]))
  if (uuids.length === 0) return new Map()
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    for (const key of keys) {
      const text = await valueText(redis, key)
      for (const uuid of uuids) if (text.includes(uuid)) found.get(uuid)!.push(key)
    }
  } while (cursor !== '0')
  return new Map([...found].map(([uuid, keys]) => [uuid, keys.length === 0 ? 'nowhere in Redis' : `in Redis at ${keys.join(', ')}`]))
}

async function valueText(redis: Redis, key: string): Promise<string> {
  switch (await redis.type(key)) {
    case 'string':
      return (await redis.get(key)) ?? ''
    case 'list':
      return (await redis.lrange(key, 0, -1)).join('\n')
    case 'hash':
      return Object.values(await redis.hgetall(key)).join('\n')
    case 'set':
      return (await redis.smembers(key)).join('\n')
    case 'zset':
      return (await redis.zrange(key, 0, -1)).join('\n')
    default:
      return ''
  }
}
