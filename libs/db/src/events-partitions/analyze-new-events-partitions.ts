import type { Pool } from 'pg'
import { eventsPartitionName } from './events-partition-day'

interface PoolMemo {
  /** Partitions seen with statistics: never checked again. */
  analyzed: Set<string>
  /** One check per partition at a time, however many batches land in it at once. */
  checking: Map<string, Promise<void>>
  /** Days found with no partition (their rows are in events_default), by name: not asked again until the time kept. */
  absent: Map<string, number>
}

/**
 * A day with no partition is asked about again after this (maintenance may have made it since). Not
 * remembered, every batch dated on such days (capture takes any past timestamp, and a plugin may set
 * one) asked once per distinct day: 200 catalogue queries for a batch of 200 days, on the pool every
 * team's inserts share, for every batch.
 */
const ABSENT_RECHECK_MS = 5 * 60_000
/** Days without a partition remembered at most; past it the memory starts again. */
const MAX_ABSENT_KEPT = 10_000
/** Days this near today may get their partition any time (maintenance makes a week ahead): never remembered as having none. */
const NEAR_DAYS_MS = 8 * 24 * 3600 * 1000

/** The start of the day a partition's name (events_pYYYYMMDD) holds. */
function dayOf(name: string): number {
  const digits = name.slice(-8)
  return Date.UTC(Number(digits.slice(0, 4)), Number(digits.slice(4, 6)) - 1, Number(digits.slice(6, 8)))
}

/** Checks in flight per pool at most: the rest are left to a later batch. */
const MAX_CHECKS_AT_ONCE = 2

/** Per pool: each pool may be another database (tests make one per test). */
const memos = new WeakMap<Pool, PoolMemo>()

/**
 * Gives a daily partition its first statistics as soon as it holds rows, rather than when
 * autovacuum gets to it (a minute or more later). Without statistics the planner cannot tell that
 * a uuid is nearly unique, costs the insert's uuid lookup through events_team_timestamp the same as
 * through the key, and picks the former: each lookup then reads every event of the team in the
 * window, so a batch costs time in proportion to the partition's rows (a fresh install, and every
 * day's partition from midnight until analysed: measured 100-event batches going from 3 ms to over
 * 700 ms within 30 000 rows). Statistics from the first rows are enough: the uuid's distinct ratio
 * (-1, unique) is what makes the key the plan, and autovacuum keeps them fresh from then on.
 *
 * `timestamps` are those of a batch just stored. Costs a comparison per event once this process
 * has seen a day's partition with statistics; until then, one catalogue query per batch, and an
 * ANALYZE of the partition (milliseconds while it is small); at most MAX_CHECKS_AT_ONCE at a time,
 * and a day without a partition once per ABSENT_RECHECK_MS. Never rejects: a failed or skipped
 * check is tried again with a later batch.
 */
export async function analyzeNewEventsPartitions(pool: Pool, timestamps: readonly string[]): Promise<void> {
  let memo = memos.get(pool)
  if (!memo) memos.set(pool, (memo = { analyzed: new Set(), checking: new Map(), absent: new Map() }))
  const now = Date.now()
  const names = new Set<string>()
  let lastDay = ''
  for (const timestamp of timestamps) {
    // Capture's timestamps are toISOString()'s (YYYY-MM-DDTHH:MM:SS.sssZ): a batch's usually share
    // their UTC day, its first ten characters, so most cost one comparison; anything else is parsed.
    const day = isUtcIso(timestamp) ? timestamp.substring(0, 10) : ''
    if (day !== '' && day === lastDay) continue
    const time = Date.parse(timestamp)
    if (Number.isNaN(time)) continue
    const name = safePartitionName(new Date(time))
    if (name && !memo.analyzed.has(name) && !((memo.absent.get(name) ?? 0) > now)) names.add(name)
    lastDay = day
  }
  if (names.size === 0) return
  await Promise.all([...names].map((name) => checkOnce(pool, memo, name)))
}

function checkOnce(pool: Pool, memo: PoolMemo, name: string): Promise<void> {
  const { checking } = memo
  const running = checking.get(name)
  if (running) return running
  if (checking.size >= MAX_CHECKS_AT_ONCE) return Promise.resolve()
  const check = analyzeIfNoStatistics(pool, memo, name)
    .catch(() => undefined)
    .finally(() => checking.delete(name))
  checking.set(name, check)
  return check
}

async function analyzeIfNoStatistics(pool: Pool, memo: PoolMemo, name: string): Promise<void> {
  const { rows } = await pool.query<{ exists: boolean; has_statistics: boolean }>(
    `SELECT to_regclass($1) IS NOT NULL AS exists,
       EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = current_schema() AND tablename = $1 AND attname = 'uuid') AS has_statistics`,
    [name],
  )
  // No partition: the day's rows are in events_default, which autovacuum looks after. Remembered
  // unless its partition may be made any time (a week either side of today): then its first rows
  // must have statistics at once, which is what this check is for.
  if (!rows[0].exists) {
    if (Math.abs(dayOf(name) - Date.now()) > NEAR_DAYS_MS) {
      if (memo.absent.size >= MAX_ABSENT_KEPT) memo.absent.clear()
      memo.absent.set(name, Date.now() + ABSENT_RECHECK_MS)
    }
    return
  }
  if (rows[0].has_statistics) {
    memo.analyzed.add(name)
    return
  }
  // The name is one of ours (events_pYYYYMMDD), never the client's text.
  await pool.query(`ANALYZE ${name}`)
}

/** toISOString()'s form for years 0000 to 9999. */
function isUtcIso(timestamp: string): boolean {
  return timestamp.length === 24 && timestamp.charCodeAt(10) === 84 /* T */ && timestamp.charCodeAt(23) === 90 /* Z */
}

function safePartitionName(day: Date): string | null {
  try {
    return eventsPartitionName(day)
  } catch {
    return null
  }
}
