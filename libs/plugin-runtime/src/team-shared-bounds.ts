import { Reserve, SharedBounds, SharedByteBudget, SocketCount } from '@plugin-server/plugin-vm'

export interface SharedLimits {
  /** Sockets one team's plugins may have open together in this process (PLUGIN_TEAM_MAX_SOCKETS). */
  teamSockets: number
  /** Sockets every team's plugins may have open together (PLUGIN_MAX_SOCKETS). */
  processSockets: number
  /** Bytes the host may hold for one team's plugins at once (PLUGIN_TEAM_HELD_MAX_MB). */
  teamHeldBytes: number
  /** Bytes the host may hold for every team's plugins at once (PLUGIN_HELD_MAX_MB). */
  processHeldBytes: number
}

interface TeamEntry {
  /** The team's socket count, kept alive by its instances and by every socket it counts (until that socket closes). */
  sockets: WeakRef<SocketCount>
  held: SharedByteBudget
}

/**
 * The process's reserve: its last eighth goes only to teams holding under an eighth of a team's
 * limit (4 096 sockets: the last 512 for teams with under 32 open; 1 GiB held: the last 128 MiB for
 * teams holding under 25 MB of 200). However many teams fill the rest, sixteen teams using little
 * each still find sockets, and a few such teams bytes. At least one of each, so a bound of a few
 * still keeps one for a team with none.
 */
export function processReserve(processLimit: number, teamLimit: number): Reserve {
  return { amount: Math.max(1, Math.floor(processLimit / 8)), below: Math.max(1, Math.floor(teamLimit / 8)) }
}

/** What a host-held budget counts, in refusals. */
const HELD = '(responses being read, cache values read and not yet received, uploads not yet sent, host work inputs)'

/**
 * The counts a team's plugin instances share in one plugin runtime (a worker process), each within
 * the process's. plugin-vm bounds each instance: 64 sockets, 50 MB of responses being read, 16 MiB
 * of cache values read, 50 MB of upload chunks, one host work task's input (16 MiB). Without these
 * a team with 100 configs could hold 6 400 sockets (the worker's file descriptors, which its own
 * Redis and Postgres connections need too) and gigabytes of the worker's memory outside every
 * isolate.
 *
 * A team's counts live as long as something refers to them: its instances, and the sockets still
 * open under them. A team seen again after that starts from zero.
 */
export class TeamSharedBounds {
  private readonly processSockets: SocketCount
  private readonly processHeld: SharedByteBudget
  private readonly teams = new Map<number, TeamEntry>()
  private readonly finalizer = new FinalizationRegistry<number>((teamId) => {
    if (this.teams.get(teamId)?.sockets.deref() === undefined) this.teams.delete(teamId)
  })

  constructor(private readonly limits: SharedLimits) {
    this.processSockets = new SocketCount(
      limits.processSockets,
      undefined,
      "this process's plugins, every team's (PLUGIN_MAX_SOCKETS)",
      processReserve(limits.processSockets, limits.teamSockets),
    )
    this.processHeld = {
      bytes: 0,
      limit: limits.processHeldBytes,
      reserve: processReserve(limits.processHeldBytes, limits.teamHeldBytes),
      name: `what the host holds for every team's plugins ${HELD}`,
      variable: 'PLUGIN_HELD_MAX_MB',
    }
  }

  /** What team `teamId`'s instances count against, besides their own bounds. */
  forTeam(teamId: number): SharedBounds {
    const entry = this.teams.get(teamId)
    const known = entry?.sockets.deref()
    if (entry && known) return { sockets: known, held: entry.held }
    const sockets = new SocketCount(this.limits.teamSockets, this.processSockets, `team ${teamId}'s plugins (PLUGIN_TEAM_MAX_SOCKETS)`)
    const held: SharedByteBudget = {
      bytes: 0,
      limit: this.limits.teamHeldBytes,
      within: this.processHeld,
      name: `what the host holds for team ${teamId}'s plugins ${HELD}`,
      variable: 'PLUGIN_TEAM_HELD_MAX_MB',
    }
    this.teams.set(teamId, { sockets: new WeakRef(sockets), held })
    this.finalizer.register(sockets, teamId)
    return { sockets, held }
  }

  /** Sockets, and bytes held on the host, of every team's plugins now. */
  holding(): { sockets: number; heldBytes: number } {
    return { sockets: this.processSockets.open, heldBytes: this.processHeld.bytes }
  }
}
