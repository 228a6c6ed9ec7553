import type { Pool } from 'pg'
import { deadLetterEvents, listDeadLetters, markReplayed } from './dead-letters'
import type { DeliveryQueue } from './delivery-queue'
import { PendingLimits, pendingLimitText } from './pending-limit-text'

export interface ReplayResult {
  replayed: number
  events: number
  deadLetterIds: number[]
  /** Dead letters left pending because there was no room for them (replay them again later). */
  notReplayed: number
  /** Why they were left: the limit, naming its variable; null when every one was replayed. */
  heldBack: string | null
}

/**
 * Hands the config's dead letters not replayed yet (created at or after `since`, or only `ids`) back to the
 * exporters as fresh delivery jobs with a new retry budget, oldest first, while the config, its team
 * and all teams have room for them within half of each pending-event limit (a day of a team's events
 * would otherwise go to Redis at once; live batches keep the other half); the rest stay pending,
 * said in the result. The job id derives from
 * the dead letter, so a replay interrupted between enqueueing and marking it replayed does not
 * deliver it twice.
 */
export async function replayDeadLetters(
  pool: Pool,
  deliveries: DeliveryQueue,
  configId: number,
  limits: PendingLimits,
  options: { since?: Date; ids?: readonly number[] } = {},
): Promise<ReplayResult> {
  const letters = await listDeadLetters(pool, configId, { since: options.since, ids: options.ids, onlyPending: true })
  const result: ReplayResult = { replayed: 0, events: 0, deadLetterIds: [], notReplayed: 0, heldBack: null }
  for (const [i, letter] of letters.entries()) {
    const events = await deadLetterEvents(pool, letter.id)
    const refused = await deliveries.addIfRoom(
      {
        jobId: `r-${letter.id}`,
        data: { configId, teamId: letter.teamId, method: letter.method, events, source: { type: 'replay', deadLetterId: letter.id }, attempts: [] },
      },
      limits,
    )
    if (refused) {
      result.notReplayed = letters.length - i
      const waiting = pendingLimitText(refused.limit, refused.pending, { configId, teamId: letter.teamId }, limits, true)
      const left = result.notReplayed === 1 ? '1 dead letter' : `${result.notReplayed} dead letters`
      result.heldBack = `${left} not replayed: ${waiting}. Replay again once those are delivered`
      break
    }
    await markReplayed(pool, letter.id)
    result.replayed++
    result.events += events.length
    result.deadLetterIds.push(letter.id)
  }
  return result
}
