import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { FleetProcess, startCli } from '../harness/processes'
import { FIXTURES } from '../harness/plugins'

/**
 * Issue #10: a secret config value never leaves the server. Real processes (capture with the admin
 * API, an ingest worker, the CLI) run a plugin that logs, throws and fetches with its secret; then
 * every output of the run is searched for the value.
 */
describe('security: a secret config value never leaves the server', function () {
  this.timeout(180_000)
  // With a quote, a backslash and base64's `+/=`: written into JSON or a URL, it is none of its forms but itself.
  const SECRET = `sk_live_"SECRET\\+/=_${randomBytes(8).toString('hex')}`
  const FORMS = [SECRET, JSON.stringify(SECRET).slice(1, -1), JSON.stringify(JSON.stringify(SECRET).slice(1, -1)).slice(1, -1), encodeURIComponent(SECRET)]
  const ADMIN = `admin-${randomBytes(12).toString('hex')}`
  let fleet: TestFleet
  const outputs: { where: string; text: string }[] = []
  const processes: FleetProcess[] = []

  before(async () => {
    fleet = await createTestFleet({ ADMIN_API_TOKEN: ADMIN, LOG_LEVEL: 'debug' })
  })
  after(() => fleet.close())

  async function cli(...args: string[]): Promise<string> {
    const proc = startCli(args, fleet.env)
    processes.push(proc)
    const code = await proc.exited
    const text = [...proc.lines.map((l) => (typeof l.msg === 'string' && Object.keys(l).length === 1 ? l.msg : JSON.stringify(l))), ...proc.stderr].join('\n')
    outputs.push({ where: `plugin-server ${args.join(' ')}`, text })
    assert.equal(code, 0, `${args.join(' ')}: ${text}`)
    return proc.lines.map((l) => (typeof l.msg === 'string' ? l.msg : JSON.stringify(l))).join('\n')
  }

  async function api(method: string, route: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${fleet.captureUrl}${route}`, {
      method,
      headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    outputs.push({ where: `${method} ${route} (${res.status})`, text: `${JSON.stringify([...res.headers])}\n${text}` })
    assert.ok(res.status < 300, `${method} ${route}: ${res.status} ${text}`)
    return JSON.parse(text) as unknown
  }

  it('is found in no process output, API answer, CLI output, log row, stored error or raw config', async () => {
    processes.push(await fleet.start('capture'))
    processes.push(await fleet.start('ingest-worker'))

    await cli('plugin', 'install', path.join(FIXTURES, 'security-secret-user'))
    const created = JSON.parse(
      await cli('config', 'create', '--team', String(fleet.team.id), '--plugin', 'Security Secret User', '--config', `apiKey=${SECRET}`, '--enable'),
    ) as { id: number }
    const id = created.id
    await cli('config', 'update', String(id), '--config', `apiKey=${SECRET}`, '--config', 'label=updated')
    await api('PATCH', `/api/configs/${id}`, { config: { apiKey: SECRET, label: 'patched' } })
    // A refused write whose value is the secret: the error must not echo it.
    const bad = await fetch(`${fleet.captureUrl}/api/configs/${id}`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ config: { nope: SECRET } }),
    })
    outputs.push({ where: 'PATCH unknown key (error)', text: await bad.text() })
    assert.equal(bad.status, 400)

    const batch = ['normal', 'throw', 'fetch', 'escaped', 'normal'].map((event, i) => ({ event, distinct_id: `u${i}`, properties: { i } }))
    const res = await fetch(`${fleet.captureUrl}/batch`, { method: 'POST', body: JSON.stringify({ api_key: fleet.team.api_token, batch }) })
    assert.equal(res.status, 200)

    const stored = await eventually(
      'events stored',
      async () =>
        (
          await fleet.db.pool.query<{ event: string; properties: Record<string, unknown> }>('SELECT event, properties FROM events WHERE team_id = $1', [
            fleet.team.id,
          ])
        ).rows,
      (rows) => rows.length === 5,
    )
    const logRows = await eventually(
      'plugin logs written',
      async () => (await fleet.db.pool.query<{ message: string }>('SELECT message FROM plugin_log_entries WHERE plugin_config_id = $1 ORDER BY id', [id])).rows,
      (rows) =>
        rows.filter((r) => r.message.startsWith('fetch failed')).length === 4 &&
        rows.some((r) => r.message.includes('rejected key')) &&
        rows.some((r) => r.message.includes('the API refused')),
    )

    // The secret was really used (otherwise the test proves nothing).
    assert.ok(stored.filter((e) => e.event === 'normal').every((e) => e.properties.key_length === SECRET.length))
    assert.ok(
      logRows.some((r) => r.message.includes('processing with ***')),
      'console output was written, redacted',
    )
    const fetchLines = logRows.filter((r) => r.message.startsWith('fetch failed')).map((r) => r.message)
    for (const refusal of [
      /FetchRefusedError: fetch refused: 169\.254\.169\.254 is a link-local \(cloud metadata\) address/,
      /10\.1\.2\.3 is a private address/,
      /the file: scheme is not allowed/,
    ])
      assert.ok(
        fetchLines.some((line) => refusal.test(line)),
        `${refusal} in ${fetchLines.join('\n')}`,
      )

    await cli('config', 'get', String(id))
    await cli('config', 'list', '--team', String(fleet.team.id))
    await cli('plugin', 'logs', String(id), '--limit', '100')
    await cli('plugin', 'get', 'Security Secret User')
    await api('GET', `/api/configs/${id}`)
    await api('GET', `/api/teams/${fleet.team.id}/configs`)
    await api('GET', `/api/configs/${id}/logs?limit=100`)
    await api('GET', `/api/configs/${id}/logs?search=${encodeURIComponent(SECRET.slice(0, 12))}`)
    await api('GET', `/api/configs/${id}/metrics`)
    await api('GET', '/api/plugins/Security%20Secret%20User')

    for (const row of logRows) outputs.push({ where: 'plugin_log_entries', text: row.message })
    const configRow = (
      await fleet.db.pool.query<{ config: string; error: string | null; disabled_reason: string | null }>(
        'SELECT config::text, error::text, disabled_reason FROM plugin_configs WHERE id = $1',
        [id],
      )
    ).rows[0]
    assert.match(
      configRow.error ?? '',
      /fetch with key \*\*\* failed|rejected key \*\*\*|the API refused \{\\"key\\":\\"\*\*\*\\"\}/,
      `the plugin error was stored, redacted: ${configRow.error}`,
    )
    outputs.push(
      { where: 'plugin_configs.error', text: configRow.error ?? '' },
      { where: 'plugin_configs.disabled_reason', text: configRow.disabled_reason ?? '' },
    )
    outputs.push({ where: 'plugin_configs.config (raw jsonb)', text: configRow.config })
    assert.match(configRow.config, /"apiKey": "enc:v1:test:/, 'stored as ciphertext')

    await Promise.all(processes.map((p) => p.kill('SIGTERM')))
    for (const p of processes) outputs.push({ where: `process ${p.name}`, text: [...p.lines.map((l) => JSON.stringify(l)), ...p.stderr].join('\n') })

    assert.ok(
      logRows.some((r) => r.message.startsWith('config {') && r.message.includes('"apiKey":"***"')),
      `the config was logged as JSON, redacted: ${logRows.map((r) => r.message).join('\n')}`,
    )
    assert.ok(logRows.some((r) => r.message.includes('the API refused {"key":"***"}')))
    const leaks = outputs.flatMap((o) =>
      FORMS.filter((form) => o.text.includes(form)).map(
        (form) => `${o.where}: …${o.text.slice(Math.max(0, o.text.indexOf(form) - 200), o.text.indexOf(form) + 60)}…`,
      ),
    )
    assert.deepEqual(leaks, [], `the secret leaked:\n${leaks.join('\n')}`)
    assert.ok(outputs.length >= 25, `searched ${outputs.length} outputs`)
    assert.ok(
      outputs.some((o) => o.where === 'process start ingest-worker' && o.text.length > 1000),
      'the worker logged (at debug level)',
    )
  })
})
