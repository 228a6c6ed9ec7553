import type { Pool } from 'pg'
import { listEventsPartitions } from './list-events-partitions'

/**
 * Up to this many daily partitions (a month; the default one not counted, as the events_partitions
 * gauge counts them) the events insert may reuse one plan per connection: a generic plan locks
 * every partition and its key, here about a hundred relations at most per insert, and saves
 * planning each batch (about 4 µs of Postgres CPU per event with 8). Past it every batch is
 * planned, and locks only its days' partitions.
 */
export const PREPARED_INSERT_MAX_PARTITIONS = 30
/** How long a count is trusted: a day adds one partition, so minutes are close enough. */
const RECOUNT_MS = 5 * 60_000
/** A failed count is tried again sooner. */
const RETRY_MS = 10_000

interface Count {
  partitions: number | null
  /** When the count may be made again. */
  nextAt: number
  counting: boolean
}

/** Per pool: each pool may be another database (tests make one per test). */
const counts = new WeakMap<Pool, Count>()

/**
 * Whether the events table is known to have at most PREPARED_INSERT_MAX_PARTITIONS partitions.
 * Never waits: the count is made in the background, at most every few minutes per pool, and until
 * one has been made the answer is false (each batch planned: safe whatever the count).
 */
export function fewEventsPartitions(pool: Pool): boolean {
  let count = counts.get(pool)
  if (!count) counts.set(pool, (count = { partitions: null, nextAt: 0, counting: false }))
  const now = Date.now()
  if (!count.counting && now >= count.nextAt) {
    const memo = count
    memo.counting = true
    listEventsPartitions(pool).then(
      (partitions) => {
        memo.partitions = partitions.filter((p) => !p.isDefault).length
        memo.nextAt = Date.now() + RECOUNT_MS
        memo.counting = false
      },
      () => {
        memo.nextAt = Date.now() + RETRY_MS
        memo.counting = false
      },
    )
  }
  return count.partitions !== null && count.partitions <= PREPARED_INSERT_MAX_PARTITIONS
}
