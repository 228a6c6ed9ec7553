import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { promises as fs } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { updateMetric } from '@plugin-server/plugin-runtime'
import { installPluginFromPath } from '@plugin-server/management'
import {
  BASIC,
  BROKEN,
  createTeamRow,
  FIXTURES,
  insertLog,
  ManagementHarness,
  SECRET,
  startManagement,
  storedConfigValue,
  WITH_ATTACHMENT,
} from '../management/management-fixture'
import { eventually } from '../harness/fleet'
import { serveAdminApi } from './serve-admin-api'

const TOKEN = 'test-admin-token-0123456789'

interface Reply {
  status: number
  headers: Headers
  text: string
  json: () => unknown
}

async function tarGz(dir: string): Promise<Buffer> {
  const out = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'ps-api-')), 'plugin.tar.gz')
  // The GitHub layout: everything inside one top folder.
  execFileSync('tar', ['-czf', out, '-C', path.dirname(dir), path.basename(dir)])
  return fs.readFile(out)
}

describe('createAdminApi', () => {
  let h: ManagementHarness
  let server: http.Server
  let base: string

  function start(token: string | null, maxBodyBytes?: number): Promise<{ server: http.Server; base: string }> {
    return serveAdminApi(h, { token, maxBodyBytes })
  }

  async function call(
    method: string,
    url: string,
    options: { body?: unknown; raw?: Buffer; headers?: Record<string, string>; token?: string | null; on?: string } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = { ...options.headers }
    const token = options.token === undefined ? TOKEN : options.token
    if (token !== null) headers.authorization = `Bearer ${token}`
    let body: string | Buffer | undefined = options.raw
    if (options.body !== undefined) {
      body = JSON.stringify(options.body)
      headers['content-type'] = 'application/json'
    }
    const res = await fetch(`${options.on ?? base}${url}`, { method, headers, body })
    const text = await res.text()
    assert.ok(!text.includes(SECRET), `${method} ${url}: the response holds the secret value`)
    return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) }
  }

  function assertError(reply: Reply, status: number, code: string, message: string, field?: string): void {
    assert.equal(reply.status, status, reply.text)
    assert.deepEqual(reply.json(), { error: { code, message, ...(field ? { field } : {}) } })
  }

  async function installBasic(): Promise<number> {
    const reply = await call('POST', '/api/plugins', { raw: await tarGz(BASIC), headers: { 'content-type': 'application/gzip' } })
    assert.equal(reply.status, 201, reply.text)
    return (reply.json() as { plugin: { id: number } }).plugin.id
  }

  beforeEach(async () => {
    h = await startManagement()
    ;({ server, base } = await start(TOKEN))
  })

  afterEach(async () => {
    server.close()
    assert.ok(!h.logText().includes(SECRET), 'no log line holds the secret value')
    await h.close()
  })

  it('is 503 for every /api request when no token is configured, and leaves other paths alone', async () => {
    const disabled = await start(null)
    try {
      assertError(
        await call('GET', '/api/plugins', { on: disabled.base }),
        503,
        'admin_api_disabled',
        'admin API disabled: set ADMIN_API_TOKEN (or ADMIN_API_TEAM_TOKENS=true)',
      )
      assert.equal((await call('GET', '/capture', { on: disabled.base })).status, 418)
    } finally {
      disabled.server.close()
    }
  })

  it('is 401 without a token or with a wrong one', async () => {
    assertError(await call('GET', '/api/teams', { token: null }), 401, 'unauthorized', 'missing Authorization: Bearer <admin API token> header')
    const wrong = await call('GET', '/api/teams', { token: 'not-the-token' })
    assertError(wrong, 401, 'unauthorized', 'invalid admin API token')
    assert.equal(wrong.headers.get('www-authenticate'), 'Bearer')
    assert.equal((await call('GET', '/api/teams')).status, 200)
  })

  it('answers unknown endpoints and methods clearly', async () => {
    assertError(await call('GET', '/api/nope'), 404, 'not_found', 'no such endpoint: GET /api/nope')
    const notAllowed = await call('DELETE', '/api/plugins')
    assertError(notAllowed, 405, 'method_not_allowed', 'DELETE is not allowed on /api/plugins (allowed: GET, POST)')
    assertError(await call('GET', '/api/configs/abc'), 400, 'validation_error', 'plugin config id must be an integer from 1 to 2147483647 (got "abc")', 'id')
    assertError(
      await call('GET', '/api/configs/9999999999'),
      400,
      'validation_error',
      'plugin config id must be an integer from 1 to 2147483647 (got "9999999999")',
      'id',
    )
    assertError(await call('GET', '/api/teams/x1/configs'), 400, 'validation_error', 'team id must be an integer from 1 to 2147483647 (got "x1")', 'teamId')
    assertError(await call('GET', '/api/configs/42'), 404, 'not_found', 'plugin config 42 not found')
    assertError(await call('GET', '/api/plugins/9'), 404, 'not_found', 'plugin 9 not found')
    assertError(await call('GET', '/api/plugins/99999999999'), 404, 'not_found', 'plugin 99999999999 not found')
    assertError(await call('GET', '/api/teams/7/configs'), 404, 'not_found', 'team 7 not found')
    assertError(
      await call('POST', '/api/teams', { raw: Buffer.from('{oops'), headers: { 'content-type': 'application/json' } }),
      400,
      'invalid_json',
      'request body is not valid JSON',
    )
  })

  it('creates and lists teams', async () => {
    assertError(await call('POST', '/api/teams', { body: {} }), 400, 'validation_error', 'name is required', 'name')
    const created = await call('POST', '/api/teams', { body: { name: 'acme', api_token: 'phc_acme' } })
    assert.equal(created.status, 201)
    assert.equal((created.json() as { api_token: string }).api_token, 'phc_acme')
    assertError(
      await call('POST', '/api/teams', { body: { name: 'again', api_token: 'phc_acme' } }),
      409,
      'conflict',
      'a team with this api_token already exists',
      'api_token',
    )
    assert.deepEqual(
      ((await call('GET', '/api/teams')).json() as { name: string }[]).map((t) => t.name),
      ['acme'],
    )
  })

  it('refuses a team api_token capture would never accept, naming api_token', async () => {
    const refused: [token: string, problem: string][] = [
      ['', 'must not be empty'],
      [' phc_padded', 'must not begin or end with whitespace'],
      ['p'.repeat(65), 'longer than 64 characters'],
      ['phc_\u00e9t\u00e9', 'must be ASCII without null bytes'],
      ['phx_personal', 'a personal API key (phx_) cannot capture events, use the project API key'],
    ]
    for (const [token, problem] of refused) {
      assertError(await call('POST', '/api/teams', { body: { name: 'acme', api_token: token } }), 400, 'validation_error', `api_token ${problem}`, 'api_token')
    }
    assert.deepEqual((await call('GET', '/api/teams')).json(), [])
    assert.equal((await call('POST', '/api/teams', { body: { name: 'acme', api_token: 'p'.repeat(64) } })).status, 201)
  })

  it('installs a .tar.gz upload; the same archive again is a no-op; shows plugin.json and versions', async () => {
    const pluginId = await installBasic()
    await h.reloads.next((m) => m.reason === 'plugin installed' && m.pluginId === pluginId)
    const again = await call('POST', '/api/plugins', { raw: await tarGz(BASIC), headers: { 'content-type': 'application/gzip' } })
    assert.equal(again.status, 200)
    assert.equal((again.json() as { status: string }).status, 'unchanged')
    assert.deepEqual(
      ((await call('GET', '/api/plugins')).json() as { name: string }[]).map((p) => p.name),
      ['management-basic'],
    )
    const detail = (await call('GET', '/api/plugins/management-basic')).json() as { id: number; plugin_json: { name: string }; versions: { version: number }[] }
    assert.equal(detail.id, pluginId)
    assert.equal(detail.plugin_json.name, 'management-basic')
    assert.deepEqual(
      detail.versions.map((v) => v.version),
      [1],
    )
  })

  it('refuses broken uploads with the reason', async () => {
    const broken = await call('POST', '/api/plugins', { raw: await tarGz(BROKEN), headers: { 'content-type': 'application/gzip' } })
    assert.equal(broken.status, 400)
    assert.equal((broken.json() as { error: { code: string } }).error.code, 'invalid_plugin')
    const wrongType = await call('POST', '/api/plugins', { raw: Buffer.from('x'), headers: { 'content-type': 'text/plain' } })
    assertError(
      wrongType,
      415,
      'unsupported_media_type',
      'send the plugin as a .zip (Content-Type: application/zip) or .tar.gz (Content-Type: application/gzip), got "text/plain"',
    )
    const garbage = await call('POST', '/api/plugins', { raw: Buffer.from('not a gzip'), headers: { 'content-type': 'application/gzip' } })
    assertError(garbage, 400, 'invalid_plugin', 'cannot read the tar.gz archive: incorrect header check')
  })

  it('is 413 for a body over the limit', async () => {
    const small = await start(TOKEN, 1024)
    try {
      const reply = await call('POST', '/api/plugins', { on: small.base, raw: Buffer.alloc(4096), headers: { 'content-type': 'application/zip' } })
      assertError(reply, 413, 'payload_too_large', 'request body is larger than 1024 bytes')
    } finally {
      small.server.close()
    }
  })

  it('refuses a body (503, Retry-After) while other requests hold the bodies in flight it may, and takes it once they are answered', async () => {
    const bounded = await serveAdminApi(h, { token: TOKEN, maxBodyBytes: 90_000, bodiesInFlightBytes: 100_000 })
    const upload = (raw: Buffer) => call('POST', '/api/plugins', { on: bounded.base, raw, headers: { 'content-type': 'application/zip' } })
    try {
      // An upload of 80 000 bytes sent slowly: a tenth of it, the rest held back.
      const slow = http.request(`${bounded.base}/api/plugins`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/zip', 'content-length': '80000' },
      })
      const slowReply = new Promise<number>((resolve, reject) => slow.on('response', (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject))
      slow.write(Buffer.alloc(8000))
      const refused = await eventually(
        'a second upload is refused while the slow one holds its declared 80 000 bytes',
        () => upload(Buffer.alloc(80_000)),
        (reply) => reply.status === 503,
      )
      assertError(refused, 503, 'unavailable', 'the server holds as many admin request bodies as it may at once: retry shortly')
      assert.equal(refused.headers.get('retry-after'), '1')
      assert.equal((await call('GET', '/api/teams', { on: bounded.base })).status, 200, 'a request without a body is served meanwhile')
      slow.end(Buffer.alloc(72_000))
      assert.equal(await slowReply, 400, 'the slow upload was read whole (not a plugin archive)')
      assertError(await upload(Buffer.alloc(80_000)), 400, 'invalid_plugin', 'archive is not a valid zip file (no end of central directory)')
    } finally {
      bounded.server.close()
    }
  })

  it('manages a config end to end without ever returning the secret', async () => {
    const pluginId = await installBasic()
    const teamId = await createTeamRow(h)
    const url = `/api/teams/${teamId}/configs`
    assertError(
      await call('POST', url, { body: { plugin_id: pluginId, config: { apiKey: SECRET } } }),
      400,
      'validation_error',
      'plugin "management-basic": config field "label" is required',
      'label',
    )
    assertError(
      await call('POST', url, { body: { plugin_id: pluginId, config: { apiKey: SECRET, label: 'L', region: SECRET } } }),
      400,
      'validation_error',
      'plugin "management-basic": config field "region" must be one of "eu", "us"',
      'region',
    )
    assertError(
      await call('POST', url, { body: { config: {} } }),
      400,
      'validation_error',
      'plugin_id is required: the plugin id (or its plugin.json name)',
      'plugin_id',
    )
    const created = await call('POST', url, {
      body: {
        plugin_id: pluginId,
        config: { apiKey: SECRET, label: 'L' },
        enabled: true,
        attachments: { mapping: { file_name: 'm.json', content_type: 'application/json', contents_base64: Buffer.from('{}').toString('base64') } },
      },
    })
    assert.equal(created.status, 201, created.text)
    const view = created.json() as {
      id: number
      enabled: boolean
      config: Record<string, string>
      secret_fields: Record<string, string>
      attachments: unknown[]
    }
    assert.equal(view.enabled, true)
    assert.deepEqual(view.config, { greeting: 'hello', mode: 'safe', label: 'L' })
    assert.deepEqual(view.secret_fields, { apiKey: 'set', region: 'not set' })
    assert.deepEqual(view.attachments, [{ key: 'mapping', file_name: 'm.json', content_type: 'application/json', size: 2 }])
    await h.reloads.next((m) => m.reason === 'config created' && m.pluginConfigId === view.id)
    assertError(
      await call('POST', url, { body: { plugin_id: 'management-basic', config: { apiKey: SECRET, label: 'L' } } }),
      409,
      'conflict',
      `team ${teamId} already has a config for plugin "management-basic" (config ${view.id}); update that one`,
    )

    const patched = await call('PATCH', `/api/configs/${view.id}`, { body: { config: { mode: 'fast' }, order: 4 } })
    assert.equal(patched.status, 200, patched.text)
    assert.deepEqual((patched.json() as { config: unknown }).config, { greeting: 'hello', mode: 'fast', label: 'L' })
    await h.reloads.next((m) => m.reason === 'config updated' && m.pluginConfigId === view.id)
    const orderProblem = 'order must be an integer from -1000000 to 1000000'
    assertError(await call('PATCH', `/api/configs/${view.id}`, { body: { order: 'first' } }), 400, 'validation_error', orderProblem, 'order')
    // Past Postgres' integer: named here, not a 500 from the database.
    assertError(await call('PATCH', `/api/configs/${view.id}`, { body: { order: 99999999999 } }), 400, 'validation_error', orderProblem, 'order')
    const pinned = await call('PATCH', `/api/configs/${view.id}`, { body: { pinned_version: 99999999999 } })
    assertError(pinned, 400, 'validation_error', 'pinned_version must be an integer from 1 to 2147483647, or null', 'pinned_version')
    assertError(
      await call('GET', `/api/configs/${view.id}/logs?after=99999999999999999999`),
      400,
      'validation_error',
      'after must be at most 999999999999999',
      'after',
    )
    assertError(await call('POST', `/api/teams/${teamId}/configs`, { body: { plugin_id: 99999999999 } }), 404, 'not_found', 'plugin 99999999999 not found')

    const put = await call('PUT', `/api/configs/${view.id}/attachments/mapping`, {
      raw: Buffer.from('a,b,c'),
      headers: { 'content-type': 'text/csv', 'x-file-name': 'map.csv' },
    })
    assert.deepEqual((put.json() as { attachments: unknown[] }).attachments, [{ key: 'mapping', file_name: 'map.csv', content_type: 'text/csv', size: 5 }])
    assertError(
      await call('PUT', `/api/configs/${view.id}/attachments/label`, { raw: Buffer.from('x') }),
      400,
      'validation_error',
      'plugin "management-basic": config field "label" is not an attachment field',
      'label',
    )

    assert.equal(((await call('POST', `/api/configs/${view.id}/disable`)).json() as { enabled: boolean }).enabled, false)
    await h.reloads.next((m) => m.reason === 'config disabled' && m.pluginConfigId === view.id)
    assert.equal(((await call('POST', `/api/configs/${view.id}/enable`)).json() as { enabled: boolean }).enabled, true)
    assert.deepEqual(
      ((await call('GET', url)).json() as { id: number }[]).map((c) => c.id),
      [view.id],
    )
    assert.equal(((await call('GET', `/api/configs/${view.id}`)).json() as { id: number }).id, view.id)

    await insertLog(h, view.id, 'INFO', 'SYSTEM', 'loaded')
    await insertLog(h, view.id, 'ERROR', 'CONSOLE', `bad key ${SECRET}`)
    const logs = (await call('GET', `/api/configs/${view.id}/logs?level=error`)).json() as { message: string }[]
    assert.deepEqual(
      logs.map((l) => l.message),
      ['bad key [secret]'],
    )
    assertError(await call('GET', `/api/configs/${view.id}/logs?after=x`), 400, 'validation_error', 'after must be a non-negative integer', 'after')

    await updateMetric(h.ctx.redis, h.ctx.queuePrefix, view.id, 'events_seen', 'sum', 3)
    assert.deepEqual((await call('GET', `/api/configs/${view.id}/metrics`)).json(), { plugin_config_id: view.id, metrics: { events_seen: 3 } })

    assert.deepEqual((await call('DELETE', `/api/configs/${view.id}`)).json(), { id: view.id, deleted: true })
    await h.reloads.next((m) => m.reason === 'config deleted' && m.pluginConfigId === view.id)
    assertError(await call('GET', `/api/configs/${view.id}/metrics`), 404, 'not_found', `plugin config ${view.id} not found`)
  })

  it('clears a stored optional secret given null or "", which then shows as not set and is gone from the row; a required secret is not cleared', async () => {
    const pluginId = await installBasic()
    const teamId = await createTeamRow(h)
    const secrets = async (body: unknown): Promise<Record<string, string>> => {
      const reply = await call('PATCH', `/api/configs/${id}`, { body })
      assert.equal(reply.status, 200, reply.text)
      return (reply.json() as { secret_fields: Record<string, string> }).secret_fields
    }
    const created = await call('POST', `/api/teams/${teamId}/configs`, { body: { plugin_id: pluginId, config: { apiKey: SECRET, label: 'L', region: 'eu' } } })
    assert.equal(created.status, 201, created.text)
    const id = (created.json() as { id: number }).id

    assert.deepEqual(await secrets({ config: { region: null } }), { apiKey: 'set', region: 'not set' })
    assert.equal(await storedConfigValue(h, id, 'region'), undefined, 'the stored secret is gone')
    assert.deepEqual(await secrets({ config: { region: 'us' } }), { apiKey: 'set', region: 'set' })
    assert.deepEqual(await secrets({ config: { region: '' } }), { apiKey: 'set', region: 'not set' }, '"" clears a secret too: an empty secret is no secret')
    assertError(
      await call('PATCH', `/api/configs/${id}`, { body: { config: { apiKey: null } } }),
      400,
      'validation_error',
      'plugin "management-basic": config field "apiKey" is required',
      'apiKey',
    )
    assert.equal(await storedConfigValue(h, id, 'apiKey'), SECRET, 'a refused clear keeps the stored secret')
  })

  it('refuses a NUL or a lone surrogate in a path parameter, a query value or a body string with a 400 naming it', async () => {
    const pluginId = await installBasic()
    const teamId = await createTeamRow(h)
    const created = await call('POST', `/api/teams/${teamId}/configs`, { body: { plugin_id: pluginId, config: { apiKey: SECRET, label: 'L' } } })
    assert.equal(created.status, 201, created.text)
    const configId = (created.json() as { id: number }).id
    const nul = 'contains a NUL character (U+0000), which Postgres cannot store'
    const lone = 'contains a lone surrogate (U+D800), which is not valid Unicode and Postgres cannot store'
    assertError(await call('GET', `/api/configs/${configId}/logs?search=a%00`), 400, 'validation_error', `search ${nul}`, 'search')
    assertError(await call('GET', '/api/plugins/a%00b'), 400, 'validation_error', `plugin ${nul}`, 'plugin')
    assertError(await call('DELETE', '/api/plugins/x%00'), 400, 'validation_error', `plugin ${nul}`, 'plugin')
    assertError(await call('POST', '/api/plugins/x%00/current-version', { body: { version: 1 } }), 400, 'validation_error', `plugin ${nul}`, 'plugin')
    assertError(
      await call('POST', `/api/teams/${teamId}/configs`, { body: { plugin_id: 'x\u0000' } }),
      400,
      'validation_error',
      `plugin_id ${nul}`,
      'plugin_id',
    )
    assertError(
      await call('POST', `/api/teams/${teamId}/configs`, { body: { plugin_id: 'x\ud800' } }),
      400,
      'validation_error',
      `plugin_id ${lone}`,
      'plugin_id',
    )
    assertError(await call('POST', '/api/teams', { body: { name: 'a\u0000' } }), 400, 'validation_error', `name ${nul}`, 'name')
    assertError(await call('POST', '/api/teams', { body: { name: 'a', api_token: 'phc_\ud800' } }), 400, 'validation_error', `api_token ${lone}`, 'api_token')
    assert.equal((await call('GET', `/api/configs/${configId}/logs?search=a`)).status, 200)
  })

  it('refuses an order past a million either way, so shifting and appending configs cannot overflow the integer column', async () => {
    const basicId = await installBasic()
    const hello = await installPluginFromPath(h.ctx, path.join(FIXTURES, 'hello-world'))
    const teamId = await createTeamRow(h)
    const created = await call('POST', `/api/teams/${teamId}/configs`, { body: { plugin_id: basicId, config: { apiKey: SECRET, label: 'L' } } })
    assert.equal(created.status, 201, created.text)
    const configId = (created.json() as { id: number }).id
    const message = 'order must be an integer from -1000000 to 1000000'
    assertError(await call('PATCH', `/api/configs/${configId}`, { body: { order: 2147483647 } }), 400, 'validation_error', message, 'order')
    assertError(await call('PATCH', `/api/configs/${configId}`, { body: { order: -1000001 } }), 400, 'validation_error', message, 'order')
    assertError(
      await call('POST', `/api/teams/${teamId}/configs`, { body: { plugin_id: hello.plugin.id, order: 2147483647 } }),
      400,
      'validation_error',
      message,
      'order',
    )
    assert.equal((await call('PATCH', `/api/configs/${configId}`, { body: { order: 1000000 } })).status, 200)
    const appended = await call('POST', `/api/teams/${teamId}/configs`, { body: { plugin_id: hello.plugin.id } })
    assert.equal(appended.status, 201, appended.text)
    assert.equal((appended.json() as { order: number }).order, 1000001)
  })

  it('creates a config that needs an attachment in one request', async () => {
    const upload = await call('POST', '/api/plugins', { raw: await tarGz(WITH_ATTACHMENT), headers: { 'content-type': 'application/gzip' } })
    assert.equal(upload.status, 201, upload.text)
    const teamId = await createTeamRow(h)
    const reply = await call('POST', `/api/teams/${teamId}/configs`, {
      body: { plugin_id: 'management-attachment', config: { token: SECRET }, attachments: { rules: { file_name: 'r.json', contents_base64: 'e30=' } } },
    })
    assert.equal(reply.status, 201, reply.text)
    assert.deepEqual((reply.json() as { secret_fields: unknown }).secret_fields, { token: 'set' })
  })
})
