import type { Pool } from 'pg'
import { deadLetterEvents, listDeadLetters, markReplayed } from './dead-letters'
import type { DeliveryQueue } from './delivery-queue'

export interface ReplayResult {
  replayed: number
  events: number
  deadLetterIds: number[]
}

/**
 * Hands the config's dead letters not replayed yet (created at or after `since`, or only `ids`) back to the
 * exporters as fresh delivery jobs with a new retry budget. The job id derives from the dead letter,
 * so a replay interrupted between enqueueing and marking it replayed does not deliver it twice.
 */
export async function replayDeadLetters(
  pool: Pool,
  deliveries: DeliveryQueue,
  configId: number,
  options: { since?: Date; ids?: readonly number[] } = {},
): Promise<ReplayResult> {
  const letters = await listDeadLetters(pool, configId, { since: options.since, ids: options.ids, onlyPending: true })
  const result: ReplayResult = { replayed: 0, events: 0, deadLetterIds: [] }
  for (const letter of letters) {
    const events = await deadLetterEvents(pool, letter.id)
    await deliveries.add([
      {
        jobId: `r-${letter.id}`,
        data: { configId, teamId: letter.teamId, method: letter.method, events, source: { type: 'replay', deadLetterId: letter.id }, attempts: [] },
      },
    ])
    await markReplayed(pool, letter.id)
    result.replayed++
    result.events += events.length
    result.deadLetterIds.push(letter.id)
  }
  return result
}
