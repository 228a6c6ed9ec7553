import { keptFor, type Reserve } from '../reserve'

/** Why a count with room left refused: its reserve is kept for teams with fewer open than this plugin's team. */
export interface ReserveRefusal {
  reserve: Reserve
  /** Sockets the full count has open. */
  open: number
  /** Sockets the plugin's team has open, and its count's name. */
  mine: number
  whose?: string
}

/** A plugin instance asked for a socket while it, its team or the process already had as many open as they may. */
export class SocketLimitError extends Error {
  override name = 'SocketLimitError'
  readonly code = 'ERR_PLUGIN_SOCKET_LIMIT'

  /** `shared`: what was full when it is not the instance's own count (`team 5's plugins (PLUGIN_TEAM_MAX_SOCKETS)`). */
  constructor(label: string, limit: number, shared?: string, kept?: ReserveRefusal) {
    super(
      kept
        ? `${label}: ${shared} have ${kept.open} of ${limit} sockets open, and ${keptFor(kept.reserve, 'sockets')}; ${kept.whose ?? "this plugin's team"} already have ${kept.mine}; end a client or pool, or await its requests, before opening more`
        : shared
          ? `${label}: ${shared} already have ${limit} sockets open, the most they may have together; end a client or pool, or await its requests, before opening more`
          : `${label}: this plugin already has ${limit} sockets open, the most one plugin instance may have (MAX_SOCKETS_PER_INSTANCE); end a client or pool, or await its requests, before opening more`,
    )
  }
}
