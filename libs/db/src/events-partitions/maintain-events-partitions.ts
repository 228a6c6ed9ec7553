import type { Pool } from 'pg'
import { databaseNow } from '../database-now'
import { createEventsPartition } from './create-events-partition'
import { deleteDefaultEventsBefore } from './delete-default-events-before'
import { dropEventsPartition } from './drop-events-partition'
import { addDays, DAILY_PARTITION, utcDayStart } from './events-partition-day'
import { EventsPartition, listEventsPartitions } from './list-events-partitions'

export interface EventsPartitionPolicy {
  /** Daily partitions are kept ready from yesterday up to this many days after today (UTC). */
  aheadDays: number
  /** Events older than this many days are dropped; null keeps every event. */
  retentionDays: number | null
  /** The database's clock when absent: a replica whose own clock ran days ahead dropped partitions still within the retention. */
  now?: Date
}

export interface EventsPartitionMaintenance {
  created: string[]
  /** Rows moved out of events_default into the partitions created. */
  movedRows: number
  dropped: string[]
  /** Rows of events_default older than the cutoff, deleted. */
  defaultRowsDeleted: number
  /** Events older than this are gone; null: retention off. */
  cutoff: Date | null
  /** The partitions of events after the pass, the default one not counted. */
  partitions: number
}

/**
 * One pass: create the missing daily partitions of the window, then (retention on) drop every
 * partition whose whole range is older than the cutoff and delete the default partition's rows
 * older than it. A partition still holding one event newer than the cutoff is kept whole. Safe to
 * run from every replica at once (each change is made under one advisory lock and re-checked).
 */
export async function maintainEventsPartitions(pool: Pool, policy: EventsPartitionPolicy): Promise<EventsPartitionMaintenance> {
  const now = policy.now ?? (await databaseNow(pool))
  const cutoff = policy.retentionDays === null ? null : addDays(now, -policy.retentionDays)
  const partitions = await listEventsPartitions(pool)
  const result: EventsPartitionMaintenance = { created: [], movedRows: 0, dropped: [], defaultRowsDeleted: 0, cutoff, partitions: 0 }
  const today = utcDayStart(now)
  for (let day = addDays(today, -1); day <= addDays(today, policy.aheadDays); day = addDays(day, 1)) {
    if (cutoff && addDays(day, 1) <= cutoff) continue
    if (partitions.some((p) => overlapsDay(p, day))) continue
    const created = await createEventsPartition(pool, day)
    if (created.created) result.created.push(created.name)
    result.movedRows += created.movedRows
  }
  if (cutoff) {
    for (const p of partitions) {
      // Partitions someone attached by hand under another name are theirs to drop.
      if (p.isDefault || p.to === null || p.to > cutoff || !(DAILY_PARTITION.test(p.name) || p.name === 'events_legacy')) continue
      if (await dropEventsPartition(pool, p.name)) result.dropped.push(p.name)
    }
    result.defaultRowsDeleted = await deleteDefaultEventsBefore(pool, cutoff)
  }
  // Counted again: replicas maintaining at once each made or dropped some of them.
  result.partitions = (await listEventsPartitions(pool)).filter((p) => !p.isDefault).length
  return result
}

function overlapsDay(p: EventsPartition, day: Date): boolean {
  if (p.isDefault) return false
  return (p.from === null || p.from < addDays(day, 1)) && (p.to === null || p.to > day)
}
