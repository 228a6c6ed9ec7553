import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { eventKey } from './keys'

export interface Run {
  id: string
  /** The config whose runEveryMinute this is: runs of different configs may overlap. */
  chain: string
  start: number
  end: number | null
}

interface ExportedEvent {
  team_id: number
  uuid: string
  processed_by: string | null
}

/**
 * The destination of every plugin side effect in the chaos run: exports (answering 500 at the
 * given rate, which the plugin turns into RetryError), job runs and scheduled task runs. Events and
 * jobs are keyed by team and uuid.
 */
export class ChaosSink {
  /** Event key → how many times it was exported. */
  readonly exported = new Map<string, number>()
  /** Event key → the enrichment the exported event carried (the config name, or null). */
  readonly exportedProcessedBy = new Map<string, string | null>()
  /** Event key of the job's event → how many times the job ran. */
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
      for (const event of data as ExportedEvent[]) {
        const key = eventKey(event.team_id, event.uuid)
        this.exported.set(key, (this.exported.get(key) ?? 0) + 1)
        this.exportedProcessedBy.set(key, event.processed_by)
      }
      return 200
    }
    if (path === '/jobs') {
      const { team_id, uuid } = data as { team_id: number; uuid: string }
      const key = eventKey(team_id, uuid)
      this.jobs.set(key, (this.jobs.get(key) ?? 0) + 1)
      return 200
    }
    if (path === '/run') {
      const { id, chain, phase } = data as { id: string; chain: string; phase: 'start' | 'end' }
      const run = this.runs.get(id) ?? { id, chain, start: Date.now(), end: null }
      if (phase === 'end') run.end = Date.now()
      this.runs.set(id, run)
      return 200
    }
    return 404
  }
}
