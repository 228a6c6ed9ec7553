import type Redis from 'ioredis'
import { jobHistoryKeys, JobRunView } from './job-history'

/** The config's most recent plugin jobs, newest (by enqueue time) first. */
export async function readJobHistory(redis: Redis, queuePrefix: string, pluginConfigId: number, limit: number): Promise<JobRunView[]> {
  const keys = jobHistoryKeys(queuePrefix, pluginConfigId)
  const ids = await redis.zrevrange(keys.order, 0, Math.max(0, limit - 1))
  if (ids.length === 0) return []
  const records = await redis.hmget(keys.runs, ...ids)
  return records.flatMap((text, i) => (text === null ? [] : [toView(ids[i], text)]))
}

function toView(id: string, text: string): JobRunView {
  const r = JSON.parse(text) as Partial<Record<keyof JobRunView, unknown>>
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)
  const num = (v: unknown): number | null => (typeof v === 'number' ? v : null)
  return {
    id,
    name: str(r.name) ?? '',
    payload: typeof r.payload === 'string' ? parsePayload(r.payload) : null,
    state: (str(r.state) ?? 'queued') as JobRunView['state'],
    attempts: num(r.attempts) ?? 0,
    enqueued_at: str(r.enqueued_at),
    started_at: str(r.started_at),
    finished_at: str(r.finished_at),
    duration_ms: num(r.duration_ms),
    error: str(r.error),
  }
}

/** A payload cut at the size cap is no longer JSON: shown as the text it is. */
function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
