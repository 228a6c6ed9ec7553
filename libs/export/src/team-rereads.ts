/**
 * Re-reads of a team's configs for hand-offs naming exporting configs this exporter does not know:
 * a hand-off goes on only once a read that began after it was made has succeeded (or what it names
 * is known meanwhile), so a config the ingest worker knew but this exporter had not heard of (its
 * reload message lost over a reconnect) is read before the hand-off's events are acknowledged
 * without it. One read per team at a time, whose waiting hand-offs share it, at most one a second
 * (failed or not): an ingest worker still naming a config disabled since sends every hand-off of
 * the team here until it hears. A read that fails fails the hand-offs waiting on it, which BullMQ retries.
 */
export class TeamRereads {
  private readonly running = new Map<number, Promise<void>>()
  /** When the last read that succeeded began, per team. */
  private readonly readSince = new Map<number, number>()
  /** When the last read began, per team, failed or not. */
  private readonly triedAt = new Map<number, number>()

  constructor(
    private readonly read: (teamId: number) => Promise<void>,
    private readonly minGapMs = 1_000,
  ) {}

  /** Resolves once a read of the team's configs that began at `since` or later has succeeded, or `settled()` says there is no need. */
  async after(teamId: number, since: number, settled: () => boolean = () => false): Promise<void> {
    while (!settled() && (this.readSince.get(teamId) ?? -Infinity) < since) {
      const running = this.running.get(teamId)
      if (running) {
        await running
        continue
      }
      const tried = this.triedAt.get(teamId)
      const read = this.start(teamId, tried === undefined ? 0 : tried + this.minGapMs - Date.now(), settled).finally(() => this.running.delete(teamId))
      this.running.set(teamId, read)
      await read
    }
  }

  private async start(teamId: number, waitMs: number, settled: () => boolean): Promise<void> {
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs))
    // Known meanwhile (its reload message came): no read needed for the hand-off that started this one.
    if (settled()) return
    const began = Date.now()
    // Teams that needed a read lately only: the rest say nothing any more.
    if (this.triedAt.size >= 1024) {
      for (const [team, at] of this.triedAt) {
        if (began - at > 60_000) {
          this.triedAt.delete(team)
          this.readSince.delete(team)
        }
      }
    }
    this.triedAt.set(teamId, began)
    await this.read(teamId)
    this.readSince.set(teamId, began)
  }
}
