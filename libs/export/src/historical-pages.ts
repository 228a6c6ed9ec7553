import type Redis from 'ioredis'
import { exportKeys } from './keys'

/** Live counts of a run's finished pages; pages are numbered, each counted once however often it is delivered. */
export interface HistoricalCounts {
  exported: number
  failed: number
}

/** Kept well past any run; a run's final counts are copied to Postgres when it ends. */
const COUNTS_TTL_SECONDS = 30 * 24 * 3600

const MARK_PAGE_DONE = `
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[2], 'exported', ARGV[2])
  redis.call('HINCRBY', KEYS[2], 'failed', ARGV[3])
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
`

/** Page `seq` of the run is finished (delivered, kept as a dead letter, dropped on cancel, or all of it ignored). */
export async function markHistoricalPageDone(redis: Redis, prefix: string, runId: number, seq: number, counts: HistoricalCounts): Promise<void> {
  const keys = exportKeys(prefix)
  await redis.eval(MARK_PAGE_DONE, 2, keys.historicalDone(runId), keys.historicalCounts(runId), seq, counts.exported, counts.failed, COUNTS_TTL_SECONDS)
}

export function historicalPagesDone(redis: Redis, prefix: string, runId: number): Promise<number> {
  return redis.scard(exportKeys(prefix).historicalDone(runId))
}

/** Each run's live counts, or null where the exporters finished none of its pages (or the counts expired). */
export async function readHistoricalCounts(redis: Redis, prefix: string, runIds: readonly number[]): Promise<(HistoricalCounts | null)[]> {
  if (runIds.length === 0) return []
  const keys = exportKeys(prefix)
  const multi = redis.multi()
  for (const id of runIds) multi.hmget(keys.historicalCounts(id), 'exported', 'failed')
  const replies = (await multi.exec()) ?? []
  return replies.map(([err, value]) => {
    if (err) throw err
    const [exported, failed] = value as (string | null)[]
    return exported === null && failed === null ? null : { exported: Number(exported ?? 0), failed: Number(failed ?? 0) }
  })
}

/** Numbers of the pages in [0, handedOver) not finished yet (at most the run's pages in flight). */
export async function unfinishedHistoricalPages(redis: Redis, prefix: string, runId: number, handedOver: number): Promise<number[]> {
  const done = new Set((await redis.smembers(exportKeys(prefix).historicalDone(runId))).map(Number))
  return Array.from({ length: handedOver }, (_, seq) => seq).filter((seq) => !done.has(seq))
}
