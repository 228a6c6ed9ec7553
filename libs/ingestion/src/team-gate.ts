/** Held while one team's part of a batch runs; releasing it twice is harmless. */
export type TeamLease = () => void

interface TeamState {
  /** Start times of the parts running now, oldest first. */
  running: number[]
  waiters: (() => void)[]
}

/**
 * Caps how many batch parts of one team an ingest worker runs through their steps (plugins) at once
 * (INGEST_TEAM_CONCURRENCY; a part being stored no longer holds its lease, see IngestPipeline),
 * so a team whose plugins are slow or stuck holds at most that many of the worker's
 * INGEST_CONCURRENCY slots and the other teams always find one free. A team at its cap waits only
 * while its parts are young: once its oldest running part is older than `waitMs` it is stuck, and
 * its new parts are turned away at once (the consumer defers them) instead of holding a slot.
 */
export class TeamGate {
  private readonly teams = new Map<number, TeamState>()

  constructor(
    private readonly perTeam: number,
    private readonly waitMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A lease if the team is below its cap, otherwise undefined. */
  tryEnter(teamId: number): TeamLease | undefined {
    const state = this.state(teamId)
    if (state.running.length >= this.perTeam) return undefined
    const started = this.now()
    state.running.push(started)
    let released = false
    return () => {
      if (released) return
      released = true
      state.running.splice(state.running.indexOf(started), 1)
      state.waiters.shift()?.()
      if (state.running.length === 0 && state.waiters.length === 0) this.teams.delete(teamId)
    }
  }

  /** A lease as soon as the team has room, or undefined once its oldest running part is `waitMs` old. */
  async enter(teamId: number): Promise<TeamLease | undefined> {
    for (;;) {
      const lease = this.tryEnter(teamId)
      if (lease) return lease
      const state = this.state(teamId)
      const left = state.running[0] + this.waitMs - this.now()
      if (left <= 0) return undefined
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          const i = state.waiters.indexOf(wake)
          if (i >= 0) state.waiters.splice(i, 1)
          resolve()
        }, left)
        const wake = (): void => {
          clearTimeout(timer)
          resolve()
        }
        state.waiters.push(wake)
      })
    }
  }

  /** Parts of the team running now (for tests and metrics). */
  running(teamId: number): number {
    return this.teams.get(teamId)?.running.length ?? 0
  }

  private state(teamId: number): TeamState {
    let state = this.teams.get(teamId)
    if (!state) this.teams.set(teamId, (state = { running: [], waiters: [] }))
    return state
  }
}
