/** A plugin instance asked for a socket while it, its team or the process already had as many open as they may. */
export class SocketLimitError extends Error {
  override name = 'SocketLimitError'
  readonly code = 'ERR_PLUGIN_SOCKET_LIMIT'

  /** `shared`: what was full when it is not the instance's own count (`team 5's plugins (PLUGIN_TEAM_MAX_SOCKETS)`). */
  constructor(label: string, limit: number, shared?: string) {
    super(
      shared
        ? `${label}: ${shared} already have ${limit} sockets open, the most they may have together; end a client or pool, or await its requests, before opening more`
        : `${label}: this plugin already has ${limit} sockets open, the most one plugin instance may have (MAX_SOCKETS_PER_INSTANCE); end a client or pool, or await its requests, before opening more`,
    )
  }
}
