/** A plugin instance asked for a socket while it already had as many open as it may. */
export class SocketLimitError extends Error {
  override name = 'SocketLimitError'
  readonly code = 'ERR_PLUGIN_SOCKET_LIMIT'

  constructor(label: string, limit: number) {
    super(
      `${label}: this plugin already has ${limit} sockets open, the most one plugin instance may have (MAX_SOCKETS_PER_INSTANCE); end a client or pool, or await its requests, before opening more`,
    )
  }
}
