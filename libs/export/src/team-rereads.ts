/**
 * Re-reads of a team's configs for hand-offs naming exporting configs this exporter does not know:
 * a hand-off goes on only once a read that began after it did has succeeded, so a config the ingest
 * worker knew but this exporter had not heard of (its reload message lost over a reconnect) is read
 * before the hand-off's events are acknowledged without it. One read per team at a time, whose
 * waiting hand-offs share it, and at most one a second: an ingest worker still naming a config
 * disabled since sends every hand-off of the team here until it hears. A read that fails fails the
 * hand-offs waiting on it, which BullMQ retries.
 */
export class TeamRereads {
  private readonly running = new Map<number, Promise<void>>()
  /** When the last read that succeeded began, per team. */
  private readonly readSince = new Map<number, number>()

  constructor(
    private readonly read: (teamId: number) => Promise<void>,
    private readonly minGapMs = 1_000,
  ) {}

  /** Resolves once a read of the team's configs that began at `since` or later has succeeded. */
  async after(teamId: number, since: number): Promise<void> {
    while ((this.readSince.get(teamId) ?? -Infinity) < since) {
      const running = this.running.get(teamId)
      if (running) {
        await running
        continue
      }
      const last = this.readSince.get(teamId)
      const read = this.start(teamId, last === undefined ? 0 : last + this.minGapMs - Date.now())
      this.running.set(teamId, read)
      await read
    }
  }

  private async start(teamId: number, waitMs: number): Promise<void> {
    try {
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs))
      const began = Date.now()
      await this.read(teamId)
      // Teams that needed a read lately only: the rest say nothing any more.
      if (this.readSince.size >= 1024) for (const [team, at] of this.readSince) if (began - at > 60_000) this.readSince.delete(team)
      this.readSince.set(teamId, began)
    } finally {
      this.running.delete(teamId)
    }
  }
}
