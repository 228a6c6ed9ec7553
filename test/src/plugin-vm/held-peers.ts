import http from 'http'
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

/** Answers each request with `bytes` at once, then holds the response open until `finish`. */
export class HeldResponses {
  private readonly open: http.ServerResponse[] = []
  private readonly server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    res.write(Buffer.alloc(this.bytes, 1))
    this.open.push(res)
  })
  url = ''

  constructor(private readonly bytes: number) {}

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}/`
  }

  finish(): void {
    for (const res of this.open.splice(0)) res.end()
  }

  async close(): Promise<void> {
    this.finish()
    this.server.closeAllConnections()
    await new Promise((resolve) => this.server.close(resolve))
  }
}
