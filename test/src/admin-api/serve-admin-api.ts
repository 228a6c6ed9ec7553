import http from 'node:http'
import { AddressInfo } from 'node:net'
import { AdminApi, createAdminApi } from '@plugin-server/admin-api'
import type { ManagementHarness } from '../management/management-fixture'

/** What createAdminApi takes beyond the harness's connections: the token, limits, long-poll options. */
export type AdminApiOptions = Omit<Parameters<typeof createAdminApi>[0], 'pool' | 'redis' | 'queuePrefix' | 'logger' | 'secrets'>

export interface ServedAdminApi {
  api: AdminApi
  server: http.Server
  /** `http://127.0.0.1:<port>` */
  base: string
}

/**
 * The admin API over the harness's Postgres and Redis on a port of its own, without a fleet; a
 * request it does not handle (not under /api/) gets 418, so a test sees it fall through.
 */
export async function serveAdminApi(h: ManagementHarness, options: AdminApiOptions): Promise<ServedAdminApi> {
  const api = createAdminApi({ pool: h.ctx.pool, redis: h.ctx.redis, queuePrefix: h.ctx.queuePrefix, logger: h.ctx.logger, secrets: h.ctx.secrets, ...options })
  const server = http.createServer((req, res) => {
    void api(req, res).then((handled) => {
      if (!handled) res.writeHead(418).end('not mine')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { api, server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}
