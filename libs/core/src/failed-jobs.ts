import { ErrorCode, type Queue } from 'bullmq'
import { QUEUES } from './queues'

/**
 * The queues whose failed set holds acknowledged events (PluginServerBatchesFailedForGood): ingest
 * batches, export hand-offs and deliveries. Plugin jobs and scheduled runs are not among them: their
 * failures are the plugin's, accounted per team (pluginJobReservedBytes), and retried by their own rules.
 */
export const RETRYABLE_FAILED_QUEUES = [QUEUES.ingest, QUEUES.export, QUEUES.exportDeliveries] as const

export type RetryableFailedQueue = (typeof RETRYABLE_FAILED_QUEUES)[number]

/** Any queue's jobs: their data is read only for its teams and event count. */
export type FailedQueue<Data = unknown> = Queue<Data>

type FailedJob<Data> = Awaited<ReturnType<FailedQueue<Data>['getFailed']>>[number]

export function retryableFailedQueue(name: string): RetryableFailedQueue {
  const known = RETRYABLE_FAILED_QUEUES.find((q) => q === name)
  if (!known) throw new Error(`unknown queue ${JSON.stringify(name)}: one of ${RETRYABLE_FAILED_QUEUES.join(', ')}`)
  return known
}

/** Most failed jobs one listing reads: each is read whole (its events too), so the call stays bounded. */
export const MAX_FAILED_LISTED = 1000

/** Most failed jobs one retry step looks at, and retries; the CLI asks again while some are left. */
export const MAX_FAILED_SCANNED_PER_STEP = 1000

/** Jobs read per Redis round trip (whole jobs: an ingest batch can be hundreds of kB). */
const READ_PAGE = 100

/** A failure reason is an error message as the role logged it; cut so one cannot flood a terminal. */
const REASON_MAX_CHARS = 300

/** What an operator sees of a failed job: never its events, which may carry personal data. */
export interface FailedJobSummary {
  jobId: string
  teams: number[]
  events: number
  attempts: number
  failedAt: string | null
  reason: string
}

export interface FailedJobsListing {
  queue: RetryableFailedQueue
  failed: number
  newest: FailedJobSummary[]
}

export async function listFailedJobs<Data>(queue: FailedQueue<Data>, name: RetryableFailedQueue, newest: number): Promise<FailedJobsListing> {
  const wanted = Math.min(Math.max(newest, 0), MAX_FAILED_LISTED)
  const summaries: FailedJobSummary[] = []
  for (let start = 0; start < wanted; start += READ_PAGE) {
    const page = await queue.getFailed(start, Math.min(start + READ_PAGE, wanted) - 1)
    // Summarised page by page: only READ_PAGE whole jobs (1 MB batches) are held at a time, not up to MAX_FAILED_LISTED.
    // A job whose hash is gone (evicted) is read as undefined, whatever the types say.
    for (const job of page) if (job !== undefined) summaries.push(summarize(job))
    if (page.length < READ_PAGE) break
  }
  return { queue: name, failed: await queue.getFailedCount(), newest: summaries }
}

function summarize<Data>(job: FailedJob<Data>): FailedJobSummary {
  const events = (job.data as { events?: unknown }).events
  const reason = job.failedReason ?? ''
  return {
    jobId: job.id ?? '',
    teams: jobTeams(job.data),
    events: Array.isArray(events) ? events.length : 0,
    attempts: job.attemptsMade,
    failedAt: job.finishedOn === undefined ? null : new Date(job.finishedOn).toISOString(),
    reason: reason.length > REASON_MAX_CHARS ? `${reason.slice(0, REASON_MAX_CHARS - 1)}…` : reason,
  }
}

/** Hand-offs and deliveries carry their team; an ingest batch has events of one team or more. */
export function jobTeams(data: unknown): number[] {
  const { teamId, events } = (data ?? {}) as { teamId?: unknown; events?: unknown }
  if (typeof teamId === 'number') return [teamId]
  if (!Array.isArray(events)) return []
  const teams = new Set<number>()
  for (const e of events) {
    const team = (e as { team_id?: unknown } | null)?.team_id
    if (typeof team === 'number') teams.add(team)
  }
  return [...teams].sort((a, b) => a - b)
}

export interface RetryFailedOptions {
  /** Only jobs all of whose events are this team's. */
  teamId?: number
  /** Where this step starts in the failed set (newest first): a previous step's `next`. */
  from?: number
  /** Most jobs this step retries (at most MAX_FAILED_SCANNED_PER_STEP). */
  max?: number
  /**
   * Jobs an earlier step retried, passed over if they are back (a batch whose data is gone fails
   * again at once, at the head of the set): retrying them again would go round for ever.
   */
  retriedBefore?: ReadonlySet<string>
}

export interface RetryFailedStep {
  retried: string[]
  /** Ingest batches with the team's events and other teams' too: left in the failed set (retry them without --team). */
  mixed: string[]
  /** Where the next step starts, or null once the whole failed set was looked at. */
  next: number | null
  /** Failed jobs left in the queue, of every team. */
  remaining: number
}

/**
 * Moves failed jobs back to wait, newest first, with their attempts reset so each gets the role's
 * whole retry budget again (Queue#retryJobs keeps the attempts made: a batch out of attempts would
 * fail for good after one more failure). At most MAX_FAILED_SCANNED_PER_STEP jobs are looked at.
 */
export async function retryFailedStep<Data>(queue: FailedQueue<Data>, options: RetryFailedOptions = {}): Promise<RetryFailedStep> {
  const max = Math.min(options.max ?? MAX_FAILED_SCANNED_PER_STEP, MAX_FAILED_SCANNED_PER_STEP)
  const retried: string[] = []
  const mixed: string[] = []
  // Jobs retried leave the set, so the next page starts after only the jobs left in it.
  let offset = options.from ?? 0
  let scanned = 0
  let next: number | null = offset
  while (retried.length < max && scanned < MAX_FAILED_SCANNED_PER_STEP) {
    const page = await queue.getFailed(offset, offset + Math.min(READ_PAGE, MAX_FAILED_SCANNED_PER_STEP - scanned) - 1)
    if (page.length === 0) {
      next = null
      break
    }
    for (const job of page) {
      if (retried.length >= max) break
      scanned++
      const teams = job ? jobTeams(job.data) : []
      const again = job?.id !== undefined && (options.retriedBefore?.has(job.id) === true || retried.includes(job.id))
      const wanted = !again && (options.teamId === undefined || (teams.length > 0 && teams.every((t) => t === options.teamId)))
      if (job?.id && wanted) {
        // Either way the job left the set, so the offset stays.
        if (await retryOne(job)) retried.push(job.id)
        continue
      }
      if (job?.id && options.teamId !== undefined && teams.includes(options.teamId)) mixed.push(job.id)
      offset++
    }
    next = offset
  }
  return { retried, mixed, next, remaining: await queue.getFailedCount() }
}

/** False when the job left the failed set meanwhile (retried by another call, removed after its week). */
async function retryOne<Data>(job: FailedJob<Data>): Promise<boolean> {
  try {
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true })
    return true
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (code === ErrorCode.JobNotExist || code === ErrorCode.JobNotInState) return false
    throw err
  }
}
