import { countPendingDeadLetters, markDeadLettersReplayed, readDeadLettersEvents } from '@plugin-server/db'
import type { Pool } from 'pg'
import { listDeadLetters } from './dead-letters'
import type { DeliveryQueue } from './delivery-queue'
import type { ProcessedPluginEvent } from './interfaces'
import type { PendingLimit } from './pending-events'
import { PendingLimits, pendingLimitText } from './pending-limit-text'

/** Dead letters one replay hands back at most (as many as one request may name by id): the caller asks again for the rest. */
export const MAX_REPLAYED_PER_REQUEST = 1000
/** Letters whose events are read in one query, and marked replayed in one UPDATE. */
const LETTERS_PER_BATCH = 50

export interface ReplayResult {
  replayed: number
  events: number
  deadLetterIds: number[]
  /** Dead letters left pending because there was no room for them (replay them again later). */
  notReplayed: number
  /** Why they were left: the limit, naming its variable; null when there was room for every one looked at. */
  heldBack: string | null
  /** Dead letters asked for still pending after this replay (past MAX_REPLAYED_PER_REQUEST, or held back); 0 once all are replayed. */
  remaining: number
}

/**
 * Hands the config's dead letters not replayed yet (created at or after `since`, or only `ids`) back to the
 * exporters as fresh delivery jobs with a new retry budget, oldest first, at most MAX_REPLAYED_PER_REQUEST
 * of them (`remaining` says how many are left to ask for; 100 000 at once had held one request for
 * 4 minutes), while the config, its team and all teams have room for them within half of each
 * pending-event limit (a day of a team's events would otherwise go to Redis at once; live batches
 * keep the other half); the rest stay pending, said in the result. Events are read and letters marked
 * a batch at a time. The job id derives from the dead letter, so a replay interrupted between
 * enqueueing and marking it replayed does not deliver it twice.
 */
export async function replayDeadLetters(
  pool: Pool,
  deliveries: DeliveryQueue,
  configId: number,
  limits: PendingLimits,
  options: { since?: Date; ids?: readonly number[] } = {},
): Promise<ReplayResult> {
  const letters = await listDeadLetters(pool, configId, { since: options.since, ids: options.ids, onlyPending: true, oldest: MAX_REPLAYED_PER_REQUEST })
  const result: ReplayResult = { replayed: 0, events: 0, deadLetterIds: [], notReplayed: 0, heldBack: null, remaining: 0 }
  let refused: { limit: PendingLimit; pending: number; teamId: number } | null = null
  for (let from = 0; from < letters.length && !refused; from += LETTERS_PER_BATCH) {
    const batch = letters.slice(from, from + LETTERS_PER_BATCH)
    const events = await readDeadLettersEvents<ProcessedPluginEvent>(
      pool,
      batch.map((l) => l.id),
    )
    const added: number[] = []
    try {
      for (const letter of batch) {
        const data = events.get(letter.id) ?? []
        const answer = await deliveries.addIfRoom(
          {
            jobId: `r-${letter.id}`,
            data: { configId, teamId: letter.teamId, method: letter.method, events: data, source: { type: 'replay', deadLetterId: letter.id }, attempts: [] },
          },
          limits,
        )
        if (answer) {
          refused = { ...answer, teamId: letter.teamId }
          break
        }
        added.push(letter.id)
        result.events += data.length
      }
    } finally {
      // Those queued before a failure (Redis refusing, the connection lost) are marked too: replayed
      // again once their job is gone (an hour after delivery), they would be delivered twice.
      await markDeadLettersReplayed(pool, added)
    }
    result.replayed += added.length
    result.deadLetterIds.push(...added)
  }
  const pageFull = letters.length === MAX_REPLAYED_PER_REQUEST
  result.remaining =
    options.ids === undefined && (pageFull || refused) ? await countPendingDeadLetters(pool, configId, options.since ?? null) : letters.length - result.replayed
  if (refused) {
    result.notReplayed = result.remaining
    const waiting = pendingLimitText(refused.limit, refused.pending, { configId, teamId: refused.teamId }, limits, true)
    const left = result.notReplayed === 1 ? '1 dead letter' : `${result.notReplayed} dead letters`
    result.heldBack = `${left} not replayed: ${waiting}. Replay again once those are delivered`
  }
  return result
}
