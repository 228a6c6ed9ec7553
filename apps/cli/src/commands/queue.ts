import type { Command } from 'commander'
import {
  createQueue,
  listFailedJobs,
  MAX_FAILED_LISTED,
  MAX_FAILED_SCANNED_PER_STEP,
  RETRYABLE_FAILED_QUEUES,
  retryableFailedQueue,
  retryFailedStep,
} from '@plugin-server/core'
import type { FailedQueue, RetryableFailedQueue } from '@plugin-server/core'
import { cliConfig, reachableRedis } from '../cli-context'
import { nameConnectionVariable } from '../connection-errors'
import { printError, printResult } from '../output'
import { positiveInt } from './option-parsers'

const QUEUE_ARGUMENT = `one of ${RETRYABLE_FAILED_QUEUES.join(', ')}`

/** `plugin-server queue failed|retry-failed`: batches of acknowledged events that ran out of attempts. */
export function registerQueue(program: Command): void {
  const queue = program.command('queue').description('BullMQ queues: batches that failed for good, and retrying them')

  queue
    .command('failed')
    .argument('<queue>', QUEUE_ARGUMENT)
    .option('--newest <n>', `how many of the newest failed jobs to show (at most ${MAX_FAILED_LISTED})`, positiveInt('--newest'), 20)
    .description('count the failed jobs of a queue and show the newest: job id, teams, events, attempts, when and why (never the events themselves)')
    .action((name: string, options: { newest: number }) =>
      withQueue(name, async (q, known) => printResult(await listFailedJobs(q, known, Math.min(options.newest, MAX_FAILED_LISTED)))),
    )

  queue
    .command('retry-failed')
    .argument('<queue>', QUEUE_ARGUMENT)
    .option('--limit <n>', 'retry at most this many jobs (default: all)', positiveInt('--limit'))
    .option(
      '--team <id>',
      "only jobs whose events are all this team's (an ingest batch with other teams' events too is left, and listed as mixed)",
      positiveInt('--team'),
    )
    .description(
      `move failed jobs back to wait with their attempts reset, newest first, ${MAX_FAILED_SCANNED_PER_STEP} looked at per request until none is left; the role processes them again (see the README on duplicates)`,
    )
    .action((name: string, options: { limit?: number; team?: number }) =>
      withQueue(name, async (q, known) => printResult({ queue: known, ...(await retryAll(q, options)) })),
    )
}

async function withQueue(name: string, fn: (queue: FailedQueue, known: RetryableFailedQueue) => Promise<void>): Promise<void> {
  const known = retryableFailedQueue(name)
  const config = cliConfig()
  const redis = await reachableRedis(config, 'cli-queue')
  const queue: FailedQueue = createQueue(known, redis, config.queuePrefix)
  try {
    await fn(queue, known)
  } catch (err) {
    throw nameConnectionVariable(err, config)
  } finally {
    await queue.close()
    redis.disconnect()
  }
}

interface RetryTotal {
  retried: number
  jobIds: string[]
  mixed: string[]
  remaining: number
}

/** One step looks at MAX_FAILED_SCANNED_PER_STEP jobs at most: asks again until the set was gone through or the limit is reached. */
async function retryAll(queue: FailedQueue, options: { limit?: number; team?: number }): Promise<RetryTotal> {
  const retried = new Set<string>()
  const mixed = new Set<string>()
  let from = 0
  for (;;) {
    const left = options.limit === undefined ? MAX_FAILED_SCANNED_PER_STEP : options.limit - retried.size
    const step = await retryFailedStep(queue, { teamId: options.team, from, max: left, retriedBefore: retried })
    for (const id of step.retried) retried.add(id)
    for (const id of step.mixed) mixed.add(id)
    const done = step.next === null || (options.limit !== undefined && retried.size >= options.limit)
    if (done) return { retried: retried.size, jobIds: [...retried], mixed: [...mixed], remaining: step.remaining }
    printError(`plugin-server: ${retried.size} failed jobs retried, ${step.remaining} still failed`)
    from = step.next ?? 0
  }
}
