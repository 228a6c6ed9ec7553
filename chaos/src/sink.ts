import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Run {
  id: string
  start: number
  end: number | null
}

/**
 * The destination of every plugin side effect in the chaos run: exports (answering 500 at the
 * given rate, which the plugin turns into RetryError), job runs and scheduled task runs.
 */
export class ChaosSink {
  readonly exported = new Map<string, number>()
  readonly jobs = new Map<string, number>()
  readonly runs = new Map<string, Run>()
  refusedExports = 0
  private server: http.Server | null = null
  url = ''

  constructor(private readonly failureRate: number) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = ''
      req.on('data', (chunk: Buffer) => (body += chunk.toString()))
      req.on('end', () => res.writeHead(this.handle(req.url ?? '', body)).end())
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
  }

  private handle(path: string, body: string): number {
    const data = JSON.parse(body || 'null') as unknown
    if (path === '/export') {
      if (Math.random() < this.failureRate) return (++this.refusedExports, 500)
      for (const uuid of data as string[]) this.exported.set(uuid, (this.exported.get(uuid) ?? 0) + 1)
      return 200
    }
    if (path === '/jobs') {
      const { uuid } = data as { uuid: string }
      this.jobs.set(uuid, (this.jobs.get(uuid) ?? 0) + 1)
      return 200
    }
    if (path === '/run') {
      const { id, phase } = data as { id: string; phase: 'start' | 'end' }
      const run = this.runs.get(id) ?? { id, start: Date.now(), end: null }
      if (phase === 'end') run.end = Date.now()
      this.runs.set(id, run)
      return 200
    }
    return 404
  }
}
