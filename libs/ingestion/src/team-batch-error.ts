import type { IngestEvent } from '@plugin-server/core'
import type { BatchResult } from './interfaces'

export interface TeamFailure {
  teamId: number
  /** The team's events as the batch brought them, before any step. */
  events: IngestEvent[]
  error: Error
}

/** Some teams' parts of a batch failed; every other team's part was stored (counted in `result`). */
export class TeamBatchError extends Error {
  constructor(
    readonly failures: TeamFailure[],
    readonly result: BatchResult,
  ) {
    super(`${failures.map((f) => `team ${f.teamId} (${f.events.length} events): ${f.error.message}`).join('; ')}`)
    this.name = 'TeamBatchError'
  }
}
