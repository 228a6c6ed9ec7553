import { ByteBudget, SharedBounds, SocketCount } from '@plugin-server/plugin-vm'

export interface SharedLimits {
  /** Sockets one team's plugins may have open together in this process (PLUGIN_TEAM_MAX_SOCKETS). */
  teamSockets: number
  /** Sockets every team's plugins may have open together (PLUGIN_MAX_SOCKETS). */
  processSockets: number
  /** Response bytes one team's plugins may be reading together (PLUGIN_TEAM_RESPONSES_MAX_MB). */
  teamResponseBytes: number
  /** Response bytes every team's plugins may be reading together (PLUGIN_RESPONSES_MAX_MB). */
  processResponseBytes: number
}

interface TeamEntry {
  /** The team's socket count, kept alive by its instances and by every socket it counts (until that socket closes). */
  sockets: WeakRef<SocketCount>
  responses: ByteBudget
}

/**
 * The counts a team's plugin instances share in one plugin runtime (a worker process), each within
 * the process's: plugin-vm bounds sockets and response bytes per instance, so without these a team
 * with 100 configs could hold 100 × 64 sockets (the worker's file descriptors, which its own Redis
 * and Postgres connections need too) and 100 × 50 MB of responses being read.
 *
 * A team's counts live as long as something refers to them: its instances, and the sockets still
 * open under them (a response is read over a counted socket, so it outlives none of its bytes). A
 * team seen again after that starts from zero, with nothing of its left to count.
 */
export class TeamSharedBounds {
  private readonly processSockets: SocketCount
  private readonly processResponses: ByteBudget
  private readonly teams = new Map<number, TeamEntry>()
  private readonly finalizer = new FinalizationRegistry<number>((teamId) => {
    if (this.teams.get(teamId)?.sockets.deref() === undefined) this.teams.delete(teamId)
  })

  constructor(private readonly limits: SharedLimits) {
    this.processSockets = new SocketCount(limits.processSockets, undefined, "this process's plugins, every team's (PLUGIN_MAX_SOCKETS)")
    this.processResponses = {
      bytes: 0,
      limit: limits.processResponseBytes,
      name: "this process's plugins' responses being read, every team's (PLUGIN_RESPONSES_MAX_MB),",
    }
  }

  /** What team `teamId`'s instances count against, besides their own bounds. */
  forTeam(teamId: number): SharedBounds {
    const entry = this.teams.get(teamId)
    const known = entry?.sockets.deref()
    if (entry && known) return { sockets: known, responses: entry.responses }
    const sockets = new SocketCount(this.limits.teamSockets, this.processSockets, `team ${teamId}'s plugins (PLUGIN_TEAM_MAX_SOCKETS)`)
    const responses: ByteBudget = {
      bytes: 0,
      limit: this.limits.teamResponseBytes,
      within: this.processResponses,
      name: `team ${teamId}'s plugins' responses being read (PLUGIN_TEAM_RESPONSES_MAX_MB)`,
    }
    this.teams.set(teamId, { sockets: new WeakRef(sockets), responses })
    this.finalizer.register(sockets, teamId)
    return { sockets, responses }
  }

  /** Sockets and response bytes every team's plugins hold now. */
  held(): { sockets: number; responseBytes: number } {
    return { sockets: this.processSockets.open, responseBytes: this.processResponses.bytes }
  }
}
