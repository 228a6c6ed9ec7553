import type { SoakProcess } from './soak-fleet'

export const ENDPOINTS = ['/healthz', '/readyz', '/metrics'] as const

export interface ProbeCounts {
  process: string
  endpoint: (typeof ENDPOINTS)[number]
  polls: number
  /** Answers other than 200, and requests that failed or took over the timeout. */
  failures: number
  /** The first few failures, for the report. */
  examples: string[]
}

/**
 * Polls /healthz, /readyz and /metrics of every process once a second (a round starts only when
 * the last one ended, so a slow process is polled less often rather than piled up on).
 */
export class Prober {
  readonly counts: ProbeCounts[]
  private timer: NodeJS.Timeout | null = null
  private round: Promise<void> | null = null

  constructor(
    private readonly processes: SoakProcess[],
    private readonly timeoutMs = 5000,
  ) {
    this.counts = processes.flatMap((p) => ENDPOINTS.map((endpoint) => ({ process: p.name, endpoint, polls: 0, failures: 0, examples: [] })))
  }

  start(intervalMs = 1000): void {
    this.timer = setInterval(() => {
      this.round ??= this.poll().finally(() => (this.round = null))
    }, intervalMs)
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    await this.round
  }

  private async poll(): Promise<void> {
    await Promise.all(
      this.processes.flatMap((p) =>
        ENDPOINTS.map(async (endpoint) => {
          const counts = this.counts.find((c) => c.process === p.name && c.endpoint === endpoint)!
          counts.polls++
          const failure = await fetch(`${p.healthUrl}${endpoint}`, { signal: AbortSignal.timeout(this.timeoutMs) })
            .then(async (res) => {
              const body = await res.text()
              return res.status === 200 ? null : `${res.status} ${body.slice(0, 200)}`
            })
            .catch((err: Error) => err.message)
          if (failure === null) return
          counts.failures++
          if (counts.examples.length < 3) counts.examples.push(`${new Date().toISOString()} ${failure}`)
        }),
      ),
    )
  }
}
