import assert from 'node:assert/strict'
import pg from 'pg'
import { eventually } from '../harness/fleet'
import { execFileSync } from 'node:child_process'
import { promises as fs } from 'node:fs'
import http from 'node:http'
import { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { AdminApi, createAdminApi, Route, ROUTES } from '@plugin-server/admin-api'
import { createConfig, createTeamAdminToken, installPluginFromPath, listTeamAdminTokens, revokeTeamAdminToken } from '@plugin-server/management'
import { BASIC, createTeamRow, ManagementHarness, SECRET, startManagement, WITH_ATTACHMENT } from '../management/management-fixture'
import { testSecretBox } from '../harness/security-env'

const OPERATOR = 'test-admin-token-0123456789'

/** What a team token may do on a route: nothing, only its own team's resources, or read shared ones. */
type TeamAccess = 'forbidden' | 'own-team' | 'any'

interface RouteCase {
  /** Status of a valid request by the operator (or by the owning team where allowed). */
  ok: number
  team: TeamAccess
  /** `target`: the team whose resources the request is about. */
  body?: (target: Team) => Promise<{ raw?: Buffer; json?: unknown; headers?: Record<string, string> }>
}

interface Request {
  raw?: Buffer
  json?: unknown
  headers?: Record<string, string>
}

async function tarGz(dir: string): Promise<Buffer> {
  const out = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'ps-authz-')), 'plugin.tar.gz')
  execFileSync('tar', ['-czf', out, '-C', path.dirname(dir), path.basename(dir)])
  return fs.readFile(out)
}

/**
 * One entry per route of the router, keyed `METHOD pattern`; the first test fails when a route is
 * added without an entry here, so no route escapes the authorization checks below.
 */
const CASES: Record<string, RouteCase> = {
  'GET /api/teams': { ok: 200, team: 'forbidden' },
  'POST /api/teams': { ok: 201, team: 'forbidden', body: async () => ({ json: { name: 'new team' } }) },
  'GET /api/plugins': { ok: 200, team: 'any' },
  'POST /api/plugins': { ok: 200, team: 'forbidden', body: async () => ({ raw: await tarGz(BASIC), headers: { 'content-type': 'application/gzip' } }) },
  'GET /api/plugins/:plugin': { ok: 200, team: 'any' },
  // Version 1 is already current: "unchanged" shows the request got past authorization without moving the configs.
  'POST /api/plugins/:plugin/current-version': { ok: 200, team: 'forbidden', body: async () => ({ json: { version: 1 } }) },
  // The plugin has configs and no force: the handler's 409 shows the request got past authorization.
  'DELETE /api/plugins/:plugin': { ok: 409, team: 'forbidden' },
  // The team has configs and no force: the handler's 409 shows the request got past authorization.
  'DELETE /api/teams/:teamId': { ok: 409, team: 'forbidden' },
  'GET /api/teams/:teamId/configs': { ok: 200, team: 'own-team' },
  'POST /api/teams/:teamId/configs': {
    ok: 201,
    team: 'own-team',
    body: async () => ({
      json: { plugin_id: 'management-attachment', config: { token: SECRET }, attachments: { rules: { file_name: 'r.json', contents_base64: 'e30=' } } },
    }),
  },
  'GET /api/configs/:id': { ok: 200, team: 'own-team' },
  'PATCH /api/configs/:id': { ok: 200, team: 'own-team', body: async () => ({ json: { order: 2 } }) },
  'DELETE /api/configs/:id': { ok: 200, team: 'own-team' },
  'POST /api/configs/:id/enable': { ok: 200, team: 'own-team' },
  'POST /api/configs/:id/disable': { ok: 200, team: 'own-team' },
  'PUT /api/configs/:id/attachments/:key': {
    ok: 200,
    team: 'own-team',
    body: async () => ({ raw: Buffer.from('a,b'), headers: { 'content-type': 'text/csv' } }),
  },
  'GET /api/configs/:id/logs': { ok: 200, team: 'own-team' },
  'GET /api/configs/:id/metrics': { ok: 200, team: 'own-team' },
  'POST /api/teams/:teamId/try': {
    ok: 200,
    team: 'own-team',
    body: async (t) => ({ json: { event: { event: 'e' }, target: { plugin_config_id: t.configId } } }),
  },
  'GET /api/me': { ok: 200, team: 'any' },
  'PUT /api/teams/:teamId/configs/order': { ok: 200, team: 'own-team', body: async (t) => ({ json: { ids: [t.configId] } }) },
  'GET /api/configs/:id/status': { ok: 200, team: 'own-team' },
  'GET /api/configs/:id/export-series': { ok: 200, team: 'own-team' },
  'GET /api/configs/:id/processing-series': { ok: 200, team: 'own-team' },
  'GET /api/teams/:teamId/configs/health': { ok: 200, team: 'own-team' },
  'GET /api/teams/:teamId/usage': { ok: 200, team: 'own-team' },
  'GET /api/teams/:teamId': { ok: 200, team: 'own-team' },
  'PATCH /api/teams/:teamId': { ok: 200, team: 'own-team', body: async () => ({ json: { anonymize_ips: false } }) },
  'GET /api/configs/:id/jobs': { ok: 200, team: 'own-team' },
  // management-basic exports no job: a caller allowed through reaches the job check (400 naming the jobs it has), the others are refused before it.
  'POST /api/configs/:id/jobs/:name': { ok: 400, team: 'own-team', body: async () => ({ json: { payload: { n: 1 } } }) },
  'GET /api/configs/:id/dead-letters': { ok: 200, team: 'own-team' },
  'POST /api/configs/:id/dead-letters/replay': { ok: 200, team: 'own-team', body: async () => ({ json: {} }) },
  'GET /api/configs/:id/historical-exports': { ok: 200, team: 'own-team' },
  // management-basic has no exportEvents: the handler's 400 saying so shows the request got past authorization.
  'POST /api/configs/:id/historical-exports': {
    ok: 400,
    team: 'own-team',
    body: async () => ({ json: { from: '2024-01-01T00:00:00Z', to: '2024-01-02T00:00:00Z' } }),
  },
  // There is no run 999999: the handler answering 404 shows the request got past authorization.
  'GET /api/configs/:id/historical-exports/:run': { ok: 404, team: 'own-team' },
  'POST /api/configs/:id/historical-exports/:run/cancel': { ok: 404, team: 'own-team' },
}

const routeKey = (route: Route): string => `${route.method} ${route.pattern}`

/** The route's path for one team's resources. */
function pathFor(route: Route, teamId: number, configId: number): string {
  return route.pattern
    .replace(':teamId', String(teamId))
    .replace(':id', String(configId))
    .replace(':plugin', 'management-basic')
    .replace(':key', 'mapping')
    .replace(':name', 'someJob')
    .replace(':run', '999999')
}

interface Team {
  id: number
  configId: number
  token: string
}

describe('admin API authorization, route by route', () => {
  let h: ManagementHarness
  let server: http.Server
  let base: string
  let a: Team
  let b: Team
  let revokedA: string
  let apis: AdminApi[] = []

  async function start(token: string | null, teamTokens: boolean): Promise<{ server: http.Server; base: string }> {
    const { pool, redis, queuePrefix, logger } = h.ctx
    const api = createAdminApi({ pool, redis, queuePrefix, logger, secrets: testSecretBox(), token, teamTokens })
    apis.push(api)
    const s = http.createServer((req, res) => void api(req, res).then((handled) => (handled ? undefined : res.writeHead(418).end())))
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
    return { server: s, base: `http://127.0.0.1:${(s.address() as AddressInfo).port}` }
  }

  async function call(
    method: string,
    url: string,
    token: string | null,
    request: Request = {},
    on = base,
  ): Promise<{ status: number; text: string; json: () => unknown }> {
    const headers: Record<string, string> = { ...request.headers }
    if (token !== null) headers.authorization = `Bearer ${token}`
    let body: Buffer | string | undefined = request.raw
    if (request.json !== undefined) {
      body = JSON.stringify(request.json)
      headers['content-type'] = 'application/json'
    }
    const res = await fetch(`${on}${url}`, { method, headers, body })
    const text = await res.text()
    assert.ok(!text.includes(SECRET), `${method} ${url}: the response holds the secret value`)
    return { status: res.status, text, json: () => JSON.parse(text) }
  }

  async function team(name: string): Promise<Team> {
    const id = await createTeamRow(h, name)
    const config = await createConfig(h.ctx, { teamId: id, plugin: 'management-basic', config: { apiKey: SECRET, label: name }, enabled: true })
    return { id, configId: config.id, token: (await createTeamAdminToken(h.ctx, id, `${name} ci`)).token }
  }

  beforeEach(async () => {
    h = await startManagement()
    await installPluginFromPath(h.ctx, BASIC)
    await installPluginFromPath(h.ctx, WITH_ATTACHMENT)
    a = await team('a')
    b = await team('b')
    const old = await createTeamAdminToken(h.ctx, a.id, 'old')
    await revokeTeamAdminToken(h.ctx, old.id)
    revokedA = old.token
    ;({ server, base } = await start(OPERATOR, false))
  })

  afterEach(async () => {
    server.close()
    await Promise.all(apis.map((api) => api.close()))
    apis = []
    const logs = h.logText()
    assert.ok(!logs.includes(SECRET), 'no log line holds the secret value')
    for (const token of [a.token, b.token, revokedA]) assert.ok(!logs.includes(token), 'no log line holds an admin token')
    await h.close()
  })

  it('has a case for every route in the router, and no stale ones', () => {
    assert.deepEqual(ROUTES.map(routeKey).sort(), Object.keys(CASES).sort())
  })

  for (const route of ROUTES) {
    const key = routeKey(route)
    it(key, async () => {
      const c = CASES[key]
      assert.ok(c, `no authorization case for ${key}`)
      const request = async (target: Team): Promise<Request> => (c.body ? c.body(target) : {})
      const onA = pathFor(route, a.id, a.configId)
      const expect = async (token: string | null, url: string, status: number, what: string, message?: RegExp): Promise<void> => {
        const reply = await call(route.method, url, token, await request(url === onA ? a : b))
        assert.equal(reply.status, status, `${key} ${what}: ${reply.text}`)
        if (message) assert.match((reply.json() as { error: { message: string } }).error.message, message, `${key} ${what}`)
      }

      await expect(null, onA, 401, 'without a token', /^missing Authorization/)
      await expect('not-the-token', onA, 401, 'with a wrong token', /^invalid admin API token$/)
      await expect(`pst_${'x'.repeat(43)}`, onA, 401, 'with an unknown team token', /^invalid admin API token$/)
      await expect(revokedA, onA, 401, 'with a revoked token', /^admin API token has been revoked$/)

      const forbidden = /^this token is scoped to team \d+/
      if (c.team === 'forbidden') {
        await expect(b.token, onA, 403, "with another team's token", /needs the operator token \(ADMIN_API_TOKEN\)/)
        await expect(a.token, onA, 403, "with the own team's token", /needs the operator token \(ADMIN_API_TOKEN\)/)
      } else if (c.team === 'own-team') {
        await expect(b.token, onA, 403, "with another team's token", forbidden)
        if (route.pattern.includes(':id')) {
          // Same answer as for another team's config: a team token cannot tell which ids exist.
          await expect(a.token, pathFor(route, a.id, 999_999), 403, 'on a config that does not exist', forbidden)
        }
        await expect(a.token, onA, c.ok, "with the own team's token")
      } else {
        await expect(b.token, onA, c.ok, "with another team's token")
        await expect(a.token, onA, c.ok, "with the own team's token")
      }
      await expect(OPERATOR, pathFor(route, b.id, b.configId), c.ok, 'with the operator token')
    })
  }

  it("lists only the token's own team's configs and records when a token was last used", async () => {
    const listed = (await call('GET', `/api/teams/${a.id}/configs`, a.token)).json() as { id: number; team_id: number }[]
    assert.deepEqual(
      listed.map((c) => [c.id, c.team_id]),
      [[a.configId, a.id]],
    )
    const tokens = await listTeamAdminTokens(h.ctx, a.id)
    assert.equal(tokens.find((t) => t.name === 'a ci')?.last_used_at instanceof Date, true)
    assert.equal(tokens.find((t) => t.name === 'old')?.last_used_at, null)
  })

  it("tells a team token how many of its own team's configs run each version of a shared plugin, never other teams'", async () => {
    // A third team with no config of the plugin: its count is 0, not the other two teams' 2.
    const c = await createTeamRow(h, 'c')
    const cToken = (await createTeamAdminToken(h.ctx, c, 'c ci')).token
    const counts = async (token: string): Promise<number[]> =>
      ((await call('GET', '/api/plugins/management-basic', token)).json() as { versions: { config_count: number }[] }).versions.map((v) => v.config_count)
    assert.deepEqual(await counts(a.token), [1], "team a's token counts team a's config only")
    assert.deepEqual(await counts(b.token), [1], "team b's token counts team b's config only")
    assert.deepEqual(await counts(cToken), [0], 'a team without a config of the plugin counts none')
    assert.deepEqual(await counts(OPERATOR), [2], 'the operator counts every team')
  })

  it('is 503 with neither kind of token enabled; with ADMIN_API_TEAM_TOKENS alone only team tokens work', async () => {
    const off = await start(null, false)
    const teamOnly = await start(null, true)
    try {
      assert.equal((await call('GET', '/api/plugins', a.token, {}, off.base)).status, 503)
      assert.equal((await call('GET', `/api/teams/${a.id}/configs`, a.token, {}, teamOnly.base)).status, 200)
      assert.equal((await call('GET', '/api/teams', OPERATOR, {}, teamOnly.base)).status, 401)
      assert.equal((await call('GET', '/api/teams', null, {}, teamOnly.base)).status, 401)
      assert.equal((await call('GET', '/api/teams', a.token, {}, teamOnly.base)).status, 403)
    } finally {
      off.server.close()
      teamOnly.server.close()
    }
  })

  it('a revoked token stops working on the next request', async () => {
    const created = await createTeamAdminToken(h.ctx, a.id, 'short-lived')
    assert.equal((await call('GET', `/api/configs/${a.configId}`, created.token)).status, 200)
    await revokeTeamAdminToken(h.ctx, created.id)
    assert.equal((await call('GET', `/api/configs/${a.configId}`, created.token)).status, 401)
  })

  it('answers 503 with Retry-After at once, not queued on the pool, a team token past four being looked up, while the operator token works; then team tokens work again', async () => {
    // Made-up tokens, no login needed, each a query: held here by a lock on the table they read.
    // Clients of their own: the API's pool (5) is the one the lookups fill.
    const locker = new pg.Client({ connectionString: h.db.url })
    const probe = new pg.Client({ connectionString: h.db.url })
    await Promise.all([locker.connect(), probe.connect()])
    try {
      await locker.query('BEGIN')
      await locker.query('LOCK TABLE team_admin_tokens IN ACCESS EXCLUSIVE MODE')
      const held = Array.from({ length: 4 }, (_, i) => call('GET', `/api/configs/${a.configId}`, `pst_${String(i).repeat(43)}`))
      await eventually(
        'four lookups waiting on the lock',
        async () =>
          (
            await probe.query<{ n: number }>(
              "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%team_admin_tokens%' AND pid <> pg_backend_pid()",
            )
          ).rows[0].n,
        (n) => n === 4,
        10_000,
      )
      const refused = await call('GET', `/api/configs/${a.configId}`, `pst_${'9'.repeat(43)}`)
      assert.equal(refused.status, 503)
      // A token being looked up already shares that lookup: a page asking several things at once is not refused.
      const sharing = call('GET', `/api/configs/${a.configId}`, `pst_${'0'.repeat(43)}`)
      assert.match((refused.json() as { error: { message: string } }).error.message, /^4 admin API tokens are being looked up already: retry later$/)
      assert.equal((await call('GET', `/api/configs/${a.configId}`, OPERATOR)).status, 200, 'the operator token needs no lookup')
      await locker.query('ROLLBACK')
      for (const reply of await Promise.all([...held, sharing])) assert.equal(reply.status, 401)
    } finally {
      await Promise.all([locker.end(), probe.end()])
    }
    assert.equal((await call('GET', `/api/configs/${a.configId}`, a.token)).status, 200)
  })
})
