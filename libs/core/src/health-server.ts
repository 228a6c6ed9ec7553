import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'
import type { Logger } from './logger'
import { withTimeout } from './with-timeout'

export type ReadinessCheck = { name: string; check: () => Promise<void> }

/** How long each readiness check may take before /readyz reports it failed (the chart's probe allows 3 s). */
export const READINESS_CHECK_TIMEOUT_MS = 2000

export interface HealthServer {
  port: number
  close: () => Promise<void>
}

/** /healthz says the process is alive; /readyz says its dependencies answer; /metrics is Prometheus. */
export async function startHealthServer(port: number, registry: Registry, checks: ReadinessCheck[], logger: Logger): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    void handle(req.url ?? '/', res)
  })
  const handle = async (url: string, res: http.ServerResponse) => {
    if (url.startsWith('/healthz')) return send(res, 200, { status: 'ok' })
    if (url.startsWith('/readyz')) {
      const failures: Record<string, string> = {}
      await Promise.all(
        checks.map(async ({ name, check }) => {
          try {
            await withTimeout(check(), READINESS_CHECK_TIMEOUT_MS)
          } catch (err) {
            failures[name] = (err as Error).message
          }
        }),
      )
      const ok = Object.keys(failures).length === 0
      return send(res, ok ? 200 : 503, ok ? { status: 'ready' } : { status: 'not ready', failures })
    }
    if (url.startsWith('/metrics')) {
      let text: string
      try {
        text = await registry.metrics()
      } catch (err) {
        // A collector that throws must cost one scrape, not the process (an unhandled rejection is fatal here).
        logger.warn({ err: (err as Error).message }, '/metrics could not be collected')
        return send(res, 500, { error: `metrics not collected: ${(err as Error).message}` })
      }
      res.writeHead(200, { 'Content-Type': registry.contentType })
      return res.end(text)
    }
    send(res, 404, { error: 'not found' })
  }
  await new Promise<void>((resolve) => server.listen(port, '0.0.0.0', resolve))
  const actual = (server.address() as AddressInfo).port
  logger.info({ port: actual }, 'health and metrics server listening')
  return {
    port: actual,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' })
  res.end(JSON.stringify(body))
}
