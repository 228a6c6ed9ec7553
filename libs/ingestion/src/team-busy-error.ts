/** The only team of a batch is stuck at its INGEST_TEAM_CONCURRENCY cap: the consumer delays the batch instead of holding a slot. */
export class TeamBusyError extends Error {
  constructor(readonly teamId: number) {
    super(`team ${teamId} has as many batches running as INGEST_TEAM_CONCURRENCY allows, and the oldest for longer than INGEST_TEAM_WAIT_MS`)
    this.name = 'TeamBusyError'
  }
}
