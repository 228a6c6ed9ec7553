import assert from 'node:assert/strict'
import net from 'node:net'
import { ConfigError, loadConfig } from '@plugin-server/core'
import { freePort } from '@plugin-server/dev-services'
import { createTestFleet, TestFleet } from '../harness/fleet'

const TOKEN = 'admin-port-test-operator-token'
const BODY_TIMEOUT_MS = 2000

describe('the admin API on a port of its own (ADMIN_PORT)', function () {
  this.timeout(60_000)
  let fleet: TestFleet
  let adminUrl: string

  before(async () => {
    const adminPort = await freePort()
    adminUrl = `http://127.0.0.1:${adminPort}`
    fleet = await createTestFleet({ ADMIN_API_TOKEN: TOKEN, ADMIN_PORT: String(adminPort), CAPTURE_BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS) })
    const capture = await fleet.start('capture')
    const listening = await capture.waitForLog((l) => l.msg === 'capture listening')
    assert.equal(listening.adminPort, adminPort)
  })
  after(() => fleet?.close())

  const authorized = { authorization: `Bearer ${TOKEN}` }

  it('serves the admin API and web UI on ADMIN_PORT', async () => {
    const teams = await fetch(`${adminUrl}/api/teams`, { headers: authorized })
    assert.equal(teams.status, 200)
    assert.ok(((await teams.json()) as { id: number }[]).some((t) => t.id === fleet.team.id))
    const ui = await fetch(`${adminUrl}/admin/`)
    assert.equal(ui.status, 200)
    assert.match(await ui.text(), /<html/i)
  })

  it('leaves the capture port to capture: /api and /admin are not found there', async () => {
    for (const path of ['/api/teams', '/admin/']) {
      const res = await fetch(`${fleet.captureUrl}${path}`, { headers: authorized })
      assert.equal(res.status, 404, path)
      assert.equal(((await res.json()) as { code: string }).code, 'not_found', path)
    }
    const captured = await fetch(`${fleet.captureUrl}/capture/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: fleet.team.api_token, event: 'admin port test', distinct_id: 'u1' }),
    })
    assert.equal(captured.status, 200)
  })

  it('gives a request CAPTURE_BODY_TIMEOUT_MS to send its body, as the capture port does, then answers 408 and closes the connection', async () => {
    const { port } = new URL(adminUrl)
    const started = Date.now()
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () =>
        // An upload that declares 1 MB and sends none of it.
        socket.write(`PUT /api/configs/1/attachments/k HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 1048576\r\n\r\n`),
      )
      let text = ''
      socket.on('data', (chunk: Buffer) => void (text += chunk.toString('latin1')))
      socket.on('close', () => resolve(text))
      socket.on('error', reject)
    })
    const ms = Date.now() - started
    assert.match(answer, /^HTTP\/1\.1 408 /)
    // Node checks the deadline every second: closed within it and that, never after its default 5 minutes.
    assert.ok(ms >= BODY_TIMEOUT_MS - 100 && ms < 60_000, `closed after ${ms} ms`)
  })

  it('answers nothing but the admin API and UI on ADMIN_PORT', async () => {
    const res = await fetch(`${adminUrl}/capture/`, { method: 'POST', body: '{}' })
    assert.equal(res.status, 404)
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'not_found')
  })

  it('keeps the admin API on the capture port when ADMIN_PORT is unset, and refuses the capture port twice', () => {
    assert.equal(loadConfig({}).admin.port, null)
    assert.equal(loadConfig({ ADMIN_PORT: '8001' }).admin.port, 8001)
    assert.throws(
      () => loadConfig({ ADMIN_PORT: '8000' }),
      (err: unknown) => err instanceof ConfigError && /ADMIN_PORT: must differ from CAPTURE_PORT/.test(err.message),
    )
    assert.throws(() => loadConfig({ ADMIN_PORT: 'admin' }), /ADMIN_PORT: expected an integer between -1 and 65535/)
  })
})
