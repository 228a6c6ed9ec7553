import type { Socket } from 'net'

/** How long a disposed client's socket has to say goodbye (Terminate, then FIN) before it is destroyed. */
export const END_GRACE_MS = 1000

/** What of a pg client holds its socket: `connection.stream`, a net or TLS socket (made, not connected, with the client). */
export interface SocketHolder {
  connection?: { stream?: Socket }
}

/** The client's socket is connecting or connected: it holds a file descriptor. */
export function socketOpen(client: SocketHolder): boolean {
  const stream = client.connection?.stream
  // `pending`: connect() not called yet, or still in progress (`connecting`); a new socket is neither closed nor destroyed.
  return stream !== undefined && !stream.destroyed && (stream.connecting || !stream.pending)
}

/**
 * Destroys the client's socket if it is still open after END_GRACE_MS. pg's `end()` (and a pool's)
 * sends Terminate and a FIN but waits for the server to close: a peer that never does kept the
 * socket, and its file descriptor, for as long as the worker lived, once per reload.
 */
export function destroyAfterGrace(client: SocketHolder): void {
  const stream = client.connection?.stream
  if (stream === undefined || !socketOpen(client)) return
  const timer = setTimeout(() => stream.destroy(), END_GRACE_MS)
  timer.unref()
  stream.once('close', () => clearTimeout(timer))
}
