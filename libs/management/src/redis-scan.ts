import type Redis from 'ioredis'

/** Keys per SCAN step and per credit script: each holds Redis well under a millisecond. */
export const SCAN_COUNT = 500

/** The keyspace's keys matching `pattern`, a step at a time (SCAN, never KEYS). */
export async function* scanKeys(redis: Redis, pattern: string): AsyncGenerator<string[]> {
  let cursor = '0'
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT)
    cursor = next
    if (found.length > 0) yield found
  } while (cursor !== '0')
}

/** A hash's fields matching `pattern`, a step at a time (HSCAN). */
export async function* scanFields(redis: Redis, hash: string, pattern: string): AsyncGenerator<string[]> {
  let cursor = '0'
  do {
    const [next, flat] = await redis.hscan(hash, cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT)
    cursor = next
    const fields = flat.filter((_, i) => i % 2 === 0)
    if (fields.length > 0) yield fields
  } while (cursor !== '0')
}

/** A queue prefix is the operator's: its glob characters must match themselves. */
export function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}
