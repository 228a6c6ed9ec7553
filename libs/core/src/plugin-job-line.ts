import { Job, PRIORITY_LIMIT, Queue } from 'bullmq'
import type Redis from 'ioredis'
import type { PluginJobData } from './interfaces'
import { redisKeys } from './redis-keys'

/**
 * A team's jobs due within this of each other rank each other, whatever order they are due in (and
 * all those due within it of now); ones due later (next week's) do not hold back today's.
 */
const RANK_HORIZON_MS = 3600 * 1000
/** An entry this long past its time is taken for lost (an add that failed after it, a job removed by hand), not queued. */
const LOST_AFTER_MS = 24 * 3600 * 1000

/**
 * KEYS[1]: the team's waiting jobs (job id → due ms). ARGV: due ms, job id, now ms. Drops lost
 * entries, answers how many of the team's jobs not started yet are due no later than RANK_HORIZON_MS
 * after this one (or after now, if it is due already), then adds it; the key outlives its last job
 * by LOST_AFTER_MS.
 */
const ENTER = `
local key, due, id, now = KEYS[1], tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - ${LOST_AFTER_MS})
-- Every job of the team due within the horizon after this one counts, not only those due before it:
-- jobs queued each sooner than the last would otherwise all rank first once due (and only those
-- within the horizon of now did count: a team queuing jobs two hours out, each a millisecond
-- sooner, had them all land unranked in the wait list, before every other team's second job).
local ahead = redis.call('ZCOUNT', key, '-inf', math.max(due, now) + ${RANK_HORIZON_MS})
redis.call('ZADD', key, due, id)
local ttl = due - now + ${LOST_AFTER_MS}
if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
return ahead
`

/**
 * Adds a plugin job (`meta.jobs`, `job trigger`) behind its own team's jobs, not behind every team's:
 * many teams share one `jobs` queue, and in one FIFO list a team that queued thousands of jobs
 * would hold every other team's job back until the job-workers had gone past all of them.
 *
 * The team's first job not started yet goes to BullMQ's wait list (as with no priority at all);
 * its n-th (counting those due no later) gets BullMQ priority n, capped at PRIORITY_LIMIT. BullMQ
 * takes the wait list first, then prioritized jobs lowest first, so every team's next job runs
 * before any team's second, every team's second before any third, and so on: fair queuing, to the
 * count at enqueue time. Priority survives a delay and the job-worker's postpone (each is promoted
 * back with it); a retry is ranked again (rankPluginJobAgain). The job-worker calls pluginJobStarted when it starts it.
 */
export async function addPluginJob(
  queue: Queue<PluginJobData>,
  redis: Redis,
  queuePrefix: string,
  data: PluginJobData,
  options: { delay: number; jobId: string },
): Promise<Job<PluginJobData>> {
  const now = Date.now()
  const ahead = Number(
    await redis.eval(ENTER, 1, redisKeys(queuePrefix).pluginJobsWaiting(data.teamId), String(now + options.delay), options.jobId, String(now)),
  )
  const priority = ahead > 0 ? Math.min(ahead, PRIORITY_LIMIT) : undefined
  return queue.add(data.name, data, { ...options, ...(priority ? { priority } : {}) })
}

/**
 * A job about to be retried (RetryError, its config not set up yet) waits again: it is counted
 * among its team's jobs not started yet and ranked as a new job due `dueAt` would be. Kept at the
 * rank it was queued with, a team's jobs that each queued the next and threw RetryError ranked
 * first (each counted none waiting, its parent having started), and thousands of them took the wait
 * list ahead of every other team's next job. BullMQ keeps the priority for the job's promotion.
 */
export async function rankPluginJobAgain(job: Job<PluginJobData>, redis: Redis, queuePrefix: string, dueAt: number): Promise<void> {
  if (job.id === undefined) return
  const now = Date.now()
  const ahead = Number(await redis.eval(ENTER, 1, redisKeys(queuePrefix).pluginJobsWaiting(job.data.teamId), String(Math.max(dueAt, now)), job.id, String(now)))
  await job.changePriority({ priority: ahead > 0 ? Math.min(ahead, PRIORITY_LIMIT) : 0 })
}

/** The job no longer waits: it is left out of its team's count (a retry is ranked again: rankPluginJobAgain). */
export async function pluginJobStarted(redis: Redis, queuePrefix: string, teamId: number, jobId: string): Promise<void> {
  await redis.zrem(redisKeys(queuePrefix).pluginJobsWaiting(teamId), jobId)
}
