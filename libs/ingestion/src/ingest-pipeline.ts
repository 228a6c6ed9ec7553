import type { IngestBatch, IngestEvent } from '@plugin-server/core'
import { insertEvents } from '@plugin-server/db'
import type { Pool } from 'pg'
import type { AfterStoreHook, BatchResult, BatchStep } from './interfaces'
import { TeamBatchError, TeamFailure } from './team-batch-error'

/**
 * Runs a batch through its steps, stores what is left and runs the after-store hooks; safe to run
 * twice on the same batch. Each team's part of the batch goes through all of that on its own and
 * concurrently with the others, so one team's slow plugins never hold back another team's events.
 * `process` settles once every team is done: it resolves when all were stored, and otherwise
 * rejects with a TeamBatchError naming the teams that failed (the others are stored by then).
 */
export class IngestPipeline {
  constructor(
    private readonly pool: Pool,
    private readonly steps: BatchStep[] = [],
    private readonly afterStore: AfterStoreHook[] = [],
  ) {}

  async process(batch: IngestBatch, batchId = 'adhoc'): Promise<BatchResult> {
    const teams = byTeam(batch.events)
    const outcomes = await Promise.allSettled([...teams.values()].map((events) => this.processTeam(events, batchId)))
    const result: BatchResult = { received: batch.events.length, stored: 0, duplicates: 0, dropped: 0, requeued: 0 }
    const failures: TeamFailure[] = []
    ;[...teams].forEach(([teamId, events], i) => {
      const outcome = outcomes[i]
      if (outcome.status === 'rejected') return failures.push({ teamId, events, error: asError(outcome.reason) })
      result.stored += outcome.value.stored
      result.duplicates += outcome.value.duplicates
      result.dropped += outcome.value.dropped
    })
    if (failures.length > 0) throw new TeamBatchError(failures, result)
    return result
  }

  private async processTeam(received: IngestEvent[], batchId: string): Promise<{ stored: number; duplicates: number; dropped: number }> {
    let events = received
    for (const step of this.steps) events = await step.run(events)
    const stored = await insertEvents(this.pool, events)
    for (const hook of this.afterStore) await hook(events, batchId)
    return { stored, duplicates: events.length - stored, dropped: received.length - events.length }
  }
}

function byTeam(events: readonly IngestEvent[]): Map<number, IngestEvent[]> {
  const teams = new Map<number, IngestEvent[]>()
  for (const event of events) {
    const team = teams.get(event.team_id)
    if (team) team.push(event)
    else teams.set(event.team_id, [event])
  }
  return teams
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason))
}
