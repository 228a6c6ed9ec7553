import net from 'node:net'
import type { AddressInfo } from 'node:net'

/**
 * A TCP relay to Postgres that can swallow everything in both directions while keeping the
 * connections open: what a half-open connection (a dead peer behind a NAT, a partition) looks like.
 */
export class BlackHoleRelay {
  swallowing = false
  private readonly sockets = new Set<net.Socket>()
  private readonly server: net.Server

  /** `databaseUrl`: the Postgres to relay to. */
  constructor(private readonly databaseUrl: string) {
    this.server = net.createServer((client) => {
      const target = new URL(databaseUrl)
      const upstream = net.connect(Number(target.port), target.hostname)
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ]) {
        this.sockets.add(from)
        from.on('data', (chunk: Buffer) => void (this.swallowing || to.write(chunk)))
        from.on('error', () => to.destroy())
        from.on('close', () => (this.sockets.delete(from), to.destroy()))
      }
    })
  }

  /** The database URL pointed at this relay, once it listens. */
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    const relayed = new URL(this.databaseUrl)
    relayed.hostname = '127.0.0.1'
    relayed.port = String((this.server.address() as AddressInfo).port)
    return relayed.toString()
  }

  /** Resets every connection relayed so far: queries still waiting on them fail at once. */
  cut(): void {
    for (const socket of this.sockets) socket.destroy()
  }

  close(): Promise<void> {
    this.cut()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}
