import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { bodyTimeouts, type Logger } from '@plugin-server/core'
import type { AdminApiHandler } from './interfaces'

export interface AdminServer {
  port: number
  /** Stops accepting connections and waits for requests in progress to be answered. */
  close: () => Promise<void>
}

/**
 * The admin API and web UI on a port of their own (ADMIN_PORT), so a cluster can expose capture
 * publicly and keep these reachable only from where it chooses. Nothing else answers here.
 * `bodyTimeoutMs` (CAPTURE_BODY_TIMEOUT_MS, as on the capture port): the time a client has to send
 * a whole request. An upload's declared size holds its share of the bodies budget from its first
 * byte, and Node's default gave a request that never sent its body 5 minutes.
 */
export async function startAdminServer(host: string, port: number, handlers: AdminApiHandler[], logger: Logger, bodyTimeoutMs: number): Promise<AdminServer> {
  const server = http.createServer(bodyTimeouts(bodyTimeoutMs), (req, res) => {
    void (async () => {
      for (const handler of handlers) if (await handler(req, res)) return
      res
        .writeHead(404, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'not_found', message: 'the admin port serves /api/ and /admin/ only' } }))
    })().catch((err: Error) => {
      logger.error({ err: err.message, path: req.url }, 'admin request failed')
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ error: { code: 'internal_error', message: 'internal error; see the server log' } }))
    })
  })
  server.keepAliveTimeout = 65_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
      }),
  }
}
