import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received {
  path: string
  at: number
  body: Record<string, unknown>
  headers: http.IncomingHttpHeaders
  status: number | 'held'
}

/** What to answer a request: a status, or 'hold' to keep it open until `release()`. */
export type Responder = (req: { path: string; body: Record<string, unknown>; index: number }) => number | 'hold'

/** A local HTTP destination (127.0.0.1) that records what exporters send it. */
export class Destination {
  readonly received: Received[] = []
  private held: { res: http.ServerResponse; received: Received }[] = []
  private readonly server: http.Server
  private counts = new Map<string, number>()
  responder: Responder = () => 200

  constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const path = req.url ?? '/'
        const index = this.counts.get(path) ?? 0
        this.counts.set(path, index + 1)
        const text = Buffer.concat(chunks).toString('utf8')
        const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>
        const answer = this.responder({ path, body, index })
        const received: Received = { path, at: Date.now(), body, headers: req.headers, status: answer === 'hold' ? 'held' : answer }
        this.received.push(received)
        if (answer === 'hold') this.held.push({ res, received })
        else res.writeHead(answer).end()
      })
    })
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  heldCount(): number {
    return this.held.filter((h) => !h.res.writableEnded && !h.res.destroyed).length
  }

  /** Answers the held requests; one whose client is gone (a killed exporter) stays 'held'. */
  release(status = 200): void {
    for (const { res, received } of this.held) {
      if (res.writableEnded || res.destroyed) continue
      res.writeHead(status).end()
      received.status = status
    }
    this.held = []
  }

  on(path: string): Received[] {
    return this.received.filter((r) => r.path === path)
  }

  /** Event uuids in the batches that were answered 2xx on `path`. */
  deliveredUuids(path: string): string[] {
    return this.on(path)
      .filter((r) => r.status !== 'held' && r.status < 300)
      .flatMap((r) => (r.body.events as { uuid: string }[]).map((e) => e.uuid))
  }

  async close(): Promise<void> {
    this.release(503)
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}
