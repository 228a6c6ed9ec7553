import net from 'net'

/**
 * A TCP peer that reads what it is sent and never answers: what a plugin's pg client may be pointed
 * at. It closes its side when the client closes its own, unless `keepsHalfOpen` (a peer that never
 * closes, so only the client destroying its socket frees the client's file descriptor).
 */
export class SilentPeer {
  private readonly server = net.createServer({ allowHalfOpen: true }, (socket) => {
    this.sockets.add(socket)
    this.accepted++
    socket.resume()
    socket.on('error', () => undefined)
    socket.on('end', () => {
      this.ended++
      if (!this.keepsHalfOpen) socket.end()
    })
    socket.on('close', () => this.sockets.delete(socket))
  })
  private readonly sockets = new Set<net.Socket>()
  port = 0
  /** Connections accepted so far. */
  accepted = 0
  /** Connections whose client sent its FIN (pg's Terminate and `end()`). */
  ended = 0

  constructor(private readonly keepsHalfOpen = false) {}

  async start(): Promise<void> {
    this.server.maxConnections = 10_000
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', 1024, resolve))
    this.port = (this.server.address() as net.AddressInfo).port
  }

  get open(): number {
    return this.sockets.size
  }

  dropAll(): void {
    for (const socket of this.sockets) socket.destroy()
  }

  async close(): Promise<void> {
    this.dropAll()
    await new Promise((resolve) => this.server.close(resolve))
  }
}

/** A plugin that opens pg clients to the peer without awaiting them, and keeps what their connects rejected with. */
export function pgOpener(port: number): string {
  return `
    import { Client } from 'pg'
    const refused = []
    export const jobs = {
      open(count) {
        for (let i = 0; i < count; i++) new Client({ host: '127.0.0.1', port: ${port}, password: 'x' }).connect().catch((e) => refused.push(e.message))
      },
      openAndEnd() {
        const client = new Client({ host: '127.0.0.1', port: ${port}, password: 'x' })
        client.connect().catch(() => undefined)
        client.end().catch(() => undefined)
      },
      refusals: () => refused,
    }
  `
}
