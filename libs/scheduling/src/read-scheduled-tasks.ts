import type { Queue } from 'bullmq'
import type Redis from 'ioredis'
import { SCHEDULED_TASKS, ScheduledTask, ScheduledTaskData } from './interfaces'
import { schedulingKeys } from './scheduling-keys'
import { chainId } from './task-interval'
import type { TaskRunRecord } from './task-run-history'

export interface ScheduledTaskView {
  task: ScheduledTask
  /** When the next run is due (in the past: due, waiting for a free worker); null while a run is in progress or no chain exists. */
  next_run_at: string | null
  running: boolean
  /** Newest first. */
  last_runs: TaskRunRecord[]
}

/**
 * The config's task chains: each is one delayed job in the scheduled queue, found through the
 * chain's deduplication key (as the timekeeper does). Tasks with neither a chain nor a recorded
 * run are left out: the plugin does not export them, or they never ran.
 */
export async function readScheduledTasks(
  queue: Queue<ScheduledTaskData>,
  redis: Redis,
  queuePrefix: string,
  pluginConfigId: number,
): Promise<ScheduledTaskView[]> {
  const views = await Promise.all(SCHEDULED_TASKS.map((task) => readTask(queue, redis, queuePrefix, chainId(pluginConfigId, task), task)))
  return views.filter((v): v is ScheduledTaskView => v !== null)
}

async function readTask(
  queue: Queue<ScheduledTaskData>,
  redis: Redis,
  queuePrefix: string,
  chain: string,
  task: ScheduledTask,
): Promise<ScheduledTaskView | null> {
  const [known, jobId, runs] = await Promise.all([
    redis.sismember(schedulingKeys.chains(queuePrefix), chain),
    queue.getDeduplicationJobId(chain),
    redis.lrange(schedulingKeys.runs(queuePrefix, chain), 0, -1),
  ])
  const job = jobId ? await queue.getJob(jobId) : undefined
  if (!known && !job && runs.length === 0) return null
  const state = job ? await job.getState() : null
  const running = state === 'active'
  const due = job && !running && state !== 'completed' && state !== 'failed' ? job.timestamp + (job.delay || 0) : null
  return {
    task,
    next_run_at: due === null ? null : new Date(due).toISOString(),
    running,
    last_runs: runs.map((text) => JSON.parse(text) as TaskRunRecord),
  }
}
