import assert from 'node:assert/strict'
import http from 'node:http'
import { AddressInfo } from 'node:net'
import path from 'node:path'
import { AdminApi, createAdminApi } from '@plugin-server/admin-api'
import { createConfig, createTeamAdminToken, installPluginFromPath } from '@plugin-server/management'
import { MAX_TRY_ATTACHMENT_BYTES, MAX_TRY_BODY_BYTES, MAX_TRY_EVENT_BYTES, TryResult } from '@plugin-server/try-it'
import { createTeamRow, FIXTURES, ManagementHarness, SECRET, startManagement } from '../management/management-fixture'
import { testSecretBox } from '../harness/security-env'

const OPERATOR = 'test-admin-token-0123456789'

interface Reply {
  status: number
  headers: Headers
  text: string
  json: () => unknown
}

describe('POST /api/teams/:teamId/try', function () {
  this.timeout(60_000)
  let h: ManagementHarness
  let api: AdminApi
  let server: http.Server
  let base: string
  let teamId: number
  let teamToken: string
  let enricherId: number

  async function call(url: string, body: unknown, token = OPERATOR): Promise<Reply> {
    const res = await fetch(`${base}${url}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
    const text = await res.text()
    assert.ok(!text.includes(SECRET), `the response holds the secret value: ${text}`)
    return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) }
  }

  function assertError(reply: Reply, status: number, code: string, field?: string): void {
    assert.equal(reply.status, status, reply.text)
    const { error } = reply.json() as { error: { code: string; field?: string } }
    assert.equal(error.code, code)
    assert.equal(error.field, field)
  }

  async function configure(fixture: string, team: number, config: Record<string, string>): Promise<number> {
    const installed = await installPluginFromPath(h.ctx, path.join(FIXTURES, fixture))
    return (await createConfig(h.ctx, { teamId: team, plugin: installed.plugin.id, config })).id
  }

  beforeEach(async () => {
    h = await startManagement()
    const { pool, redis, queuePrefix, logger } = h.ctx
    api = createAdminApi({
      pool,
      redis,
      queuePrefix,
      logger,
      secrets: testSecretBox(),
      token: OPERATOR,
      teamTokens: true,
      pluginSettings: { fetchAllowedHosts: ['127.0.0.1'] },
    })
    server = http.createServer((req, res) => void api(req, res).then((handled) => (handled ? undefined : res.writeHead(418).end())))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    teamId = await createTeamRow(h, 'try')
    teamToken = (await createTeamAdminToken(h.ctx, teamId, 'ui')).token
    enricherId = await configure('try-enricher', teamId, { apiKey: SECRET })
  })

  afterEach(async () => {
    server.close()
    await api.close()
    assert.ok(!h.logText().includes(SECRET), 'no log line holds the secret value')
    await h.close()
  })

  it("answers the output event, the steps' logs and host calls, with the stored secret used but never shown", async () => {
    const reply = await call(
      `/api/teams/${teamId}/try`,
      { event: { event: '$pageview', properties: { path: '/' } }, target: { plugin_config_id: enricherId } },
      teamToken,
    )
    assert.equal(reply.status, 200, reply.text)
    const result = reply.json() as TryResult
    assert.equal(result.dropped, false)
    assert.equal((result.output?.properties as Record<string, unknown>).greeting, 'hello')
    const processing = result.steps.find((s) => s.method === 'processEvent')!
    assert.equal(processing.plugin, 'try-enricher')
    assert.deepEqual(processing.logs, [{ level: 'info', message: 'processing with key [secret]' }])
    assert.ok(processing.host_calls.some((c) => c.call === 'cache.set' && !c.performed))
    assert.ok(processing.host_calls.some((c) => c.call === 'jobs' && !c.performed))
    assert.deepEqual(await h.ctx.redis.keys(`${h.ctx.queuePrefix}*`), [], 'nothing was written to Redis')
  })

  it('a plugin error is a failed step in a 200 answer; a drop is an empty output', async () => {
    const thrown = await call(`/api/teams/${teamId}/try`, { event: { event: 'throw' }, target: { plugin_config_id: enricherId } })
    assert.equal(thrown.status, 200, thrown.text)
    const steps = (thrown.json() as TryResult).steps
    assert.equal(steps.find((s) => s.method === 'processEvent')?.error, 'Error: the API rejected key [secret]')

    const dropped = (await call(`/api/teams/${teamId}/try`, { event: { event: 'drop' }, target: { chain: true } })).json() as TryResult
    assert.equal(dropped.steps.length, 0, 'the config is disabled, so the chain is empty')
    const droppedByConfig = (await call(`/api/teams/${teamId}/try`, { event: { event: 'drop' }, target: { plugin_config_id: enricherId } })).json() as TryResult
    assert.deepEqual([droppedByConfig.dropped, droppedByConfig.output], [true, null])
  })

  it('sends the GET to an allowlisted server, not the POST', async () => {
    const seen: string[] = []
    const sink = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`)
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}')
    })
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`
      await installPluginFromPath(h.ctx, path.join(FIXTURES, 'try-fetcher'))
      const reply = await call(`/api/teams/${teamId}/try`, { event: { event: 'e', distinct_id: 'd1' }, target: { plugin_id: 'try-fetcher', config: { url } } })
      assert.equal(reply.status, 200, reply.text)
      assert.deepEqual(seen, ['GET /lookup?id=d1'])
      const props = (reply.json() as TryResult).output?.properties as Record<string, unknown>
      assert.deepEqual(props.lookup, { status: 200, body: { ok: true } })
      assert.match(String(props.post_error), /was not sent: this is a dry run/)
    } finally {
      sink.close()
    }
  })

  it('runs a plugin not configured yet with files given as on POST /configs; a missing or oversized one is a 400 naming the field', async () => {
    await installPluginFromPath(h.ctx, path.join(FIXTURES, 'ui-enricher'))
    await installPluginFromPath(h.ctx, path.join(FIXTURES, 'management-attachment'))
    const csv = (text: string | Buffer) => ({ file_name: 'lookup.csv', content_type: 'text/csv', contents_base64: Buffer.from(text).toString('base64') })
    const target = (lookup: unknown) => ({ plugin_id: 'ui-enricher', config: { greeting: 'hey', apiKey: SECRET }, attachments: { lookup } })

    const reply = await call(`/api/teams/${teamId}/try`, { event: { event: 'e', distinct_id: 'd2' }, target: target(csv('d1,silver\nd2,gold\n')) }, teamToken)
    assert.equal(reply.status, 200, reply.text)
    const result = reply.json() as TryResult
    assert.equal((result.output?.properties as Record<string, unknown>).segment, 'gold', 'the segment came from the given file')
    assert.equal(result.steps.find((s) => s.method === 'setupPlugin')?.logs[0]?.message, 'setup: 2 lookup entries, failExports=no')

    const missing = await call(`/api/teams/${teamId}/try`, { event: { event: 'e' }, target: { plugin_id: 'management-attachment', config: { token: SECRET } } })
    assertError(missing, 400, 'validation_error', 'attachments.rules')
    assert.match((missing.json() as { error: { message: string } }).error.message, /config field "rules" is required: upload an attachment for it/)
    assertError(
      await call(`/api/teams/${teamId}/try`, { event: { event: 'e' }, target: { ...target(csv('')), attachments: { tag: csv('') } } }),
      400,
      'validation_error',
      'attachments.tag',
    )
    const big = await call(`/api/teams/${teamId}/try`, { event: { event: 'e' }, target: target(csv(Buffer.alloc(MAX_TRY_ATTACHMENT_BYTES + 1))) })
    assertError(big, 400, 'validation_error', 'attachments')
    assert.match((big.json() as { error: { message: string } }).error.message, /at most 10485760 \(10 MB\)/)
  })

  it("refuses other teams' configs with 403 and bad input with 400 naming the field", async () => {
    const other = await createTeamRow(h, 'other')
    const foreign = await configure('try-tagger', other, {})
    assertError(
      await call(`/api/teams/${teamId}/try`, { event: { event: 'e' }, target: { plugin_config_id: foreign } }, teamToken),
      403,
      'forbidden',
      'target.plugin_config_id',
    )
    assertError(
      await call(`/api/teams/${teamId}/try`, { event: { event: 'e' }, target: { plugin_config_id: foreign } }),
      403,
      'forbidden',
      'target.plugin_config_id',
    )
    assertError(await call(`/api/teams/${other}/try`, { event: { event: 'e' }, target: { plugin_config_id: foreign } }, teamToken), 403, 'forbidden')

    assertError(await call(`/api/teams/${teamId}/try`, { target: { chain: true } }), 400, 'validation_error', 'event')
    assertError(await call(`/api/teams/${teamId}/try`, { event: { properties: {} }, target: { chain: true } }), 400, 'validation_error', 'event.event')
    assertError(await call(`/api/teams/${teamId}/try`, { event: { event: 'e' } }), 400, 'validation_error', 'target')
    assertError(
      await call(`/api/teams/${teamId}/try`, { event: { event: 'e' }, target: { plugin_id: 'try-enricher', config: { greeting: 'x' } } }),
      400,
      'validation_error',
      'config.apiKey',
    )
    assertError(await call(`/api/teams/${teamId}/try`, '{"event":'), 400, 'invalid_json')
    assertError(await call(`/api/teams/999999/try`, { event: { event: 'e' }, target: { chain: true } }), 404, 'not_found')
  })

  it('runs at most two dry runs at once, one per team, and tells the rest to come back (429, Retry-After)', async () => {
    const other = await createTeamRow(h, 'other')
    const third = await createTeamRow(h, 'third')
    const fetcher = await configure('try-fetcher', teamId, { url: 'http://127.0.0.1:9' })
    const otherFetcher = await configure('try-fetcher', other, { url: 'http://127.0.0.1:9' })
    const thirdFetcher = await configure('try-fetcher', third, { url: 'http://127.0.0.1:9' })
    const slow = (id: number) => ({ event: { event: 'e', properties: { sleep_ms: 3000 } }, target: { plugin_config_id: id } })
    const running = [call(`/api/teams/${teamId}/try`, slow(fetcher)), call(`/api/teams/${other}/try`, slow(otherFetcher))]
    await new Promise((resolve) => setTimeout(resolve, 300))
    const full = await call(`/api/teams/${third}/try`, { event: { event: 'e' }, target: { plugin_config_id: thirdFetcher } })
    assertError(full, 429, 'too_many_requests')
    assert.equal(full.headers.get('retry-after'), '5')
    assert.match((full.json() as { error: { message: string } }).error.message, /^2 dry runs are already running on this server; try again in a few seconds$/)
    const again = await call(`/api/teams/${teamId}/try`, { event: { event: 'e' }, target: { plugin_config_id: fetcher } })
    assertError(again, 429, 'too_many_requests')
    assert.match((again.json() as { error: { message: string } }).error.message, /^this team already has 1 dry run running on this server/)
    for (const reply of await Promise.all(running)) assert.equal(reply.status, 200, reply.text)
  })

  it('refuses a body larger than any valid dry run with 413 naming the limits, before reading it', async () => {
    const reply = await call(`/api/teams/${teamId}/try`, 'x'.repeat(MAX_TRY_BODY_BYTES + 1), teamToken)
    assertError(reply, 413, 'payload_too_large')
    assert.equal(
      (reply.json() as { error: { message: string } }).error.message,
      `request body is larger than ${MAX_TRY_BODY_BYTES} bytes: a dry run takes an event of at most 1048576 bytes and attachments of at most 10485760 bytes in all (base64)`,
    )
    // The largest attachments a dry run takes, as base64, still fit (and are judged on their own limit).
    assert.ok(MAX_TRY_BODY_BYTES > Math.ceil(MAX_TRY_ATTACHMENT_BYTES / 3) * 4 + MAX_TRY_EVENT_BYTES)
  })
})
