import type { IngestBatch, IngestEvent } from '@plugin-server/core'
import { insertEvents } from '@plugin-server/db'
import type { Pool } from 'pg'
import type { AfterStoreHook, BatchResult, BatchStep } from './interfaces'
import { TeamBatchError, TeamFailure } from './team-batch-error'
import { TeamBusyError } from './team-busy-error'
import type { TeamGate, TeamLease } from './team-gate'

/** One team's events of a batch. */
export interface TeamPart {
  teamId: number
  events: IngestEvent[]
}

/**
 * How a worker admits teams' parts (ingest-consumer.ts): a part whose team is at its cap is not
 * run here but handed to `defer`, which must have put it somewhere durable when it resolves.
 */
export interface Admission {
  gate: TeamGate
  defer(parts: TeamPart[]): Promise<void>
}

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

  /**
   * Without `admission` every team's part runs. With it, a batch of one team waits for that team's
   * lease (TeamBusyError when the team is stuck), and in a batch of several teams each busy team's
   * part is deferred at once, counted as requeued.
   */
  async process(batch: IngestBatch, batchId = 'adhoc', admission?: Admission): Promise<BatchResult> {
    const parts = byTeam(batch.events)
    const leases = await admit(parts, admission)
    const deferred = parts.filter((_, i) => leases[i] === null)
    if (deferred.length > 0) {
      try {
        await admission!.defer(deferred)
      } catch (err) {
        for (const lease of leases) lease?.()
        throw err
      }
    }
    const admitted = parts.flatMap((part, i) => (leases[i] === null ? [] : [{ ...part, release: leases[i] ?? noop }]))
    // Each lease goes back when its own team is done, not when the slowest team of the batch is.
    const outcomes = await Promise.allSettled(admitted.map((part) => this.processTeam(part.events, batchId).finally(part.release)))
    const result: BatchResult = { received: batch.events.length, stored: 0, duplicates: 0, dropped: 0, requeued: count(deferred) }
    const failures: TeamFailure[] = []
    admitted.forEach(({ teamId, events }, i) => {
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

/** One lease per part, null for a part to defer; undefined leases (no admission) mean "run, nothing to release". */
async function admit(parts: TeamPart[], admission: Admission | undefined): Promise<(TeamLease | undefined | null)[]> {
  if (!admission) return parts.map(() => undefined)
  if (parts.length === 1) {
    const lease = await admission.gate.enter(parts[0].teamId)
    if (!lease) throw new TeamBusyError(parts[0].teamId)
    return [lease]
  }
  return parts.map((part) => admission.gate.tryEnter(part.teamId) ?? null)
}

function byTeam(events: readonly IngestEvent[]): TeamPart[] {
  const teams = new Map<number, IngestEvent[]>()
  for (const event of events) {
    const team = teams.get(event.team_id)
    if (team) team.push(event)
    else teams.set(event.team_id, [event])
  }
  return [...teams].map(([teamId, events]) => ({ teamId, events }))
}

function count(parts: TeamPart[]): number {
  return parts.reduce((n, part) => n + part.events.length, 0)
}

function noop(): void {}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason))
}
