import assert from 'node:assert/strict'
import http from 'node:http'
import type { AdminApi } from '@plugin-server/admin-api'
import { createConfig, installPluginFromPath } from '@plugin-server/management'
import { eventually } from '../harness/fleet'
import { BASIC, createTeamRow, insertLog, ManagementHarness, SECRET, startManagement } from '../management/management-fixture'
import { AdminApiOptions, serveAdminApi } from './serve-admin-api'

const TOKEN = 'test-admin-token-logs-0123456789'

interface Row {
  id: number
  type: string
  message: string
}

describe('admin API: config logs', function () {
  this.timeout(30_000)
  let h: ManagementHarness
  let api: AdminApi
  let server: http.Server
  let base: string
  let configId: number

  async function start(options: AdminApiOptions['logLongPolls'] = {}): Promise<void> {
    ;({ api, server, base } = await serveAdminApi(h, { token: TOKEN, logLongPolls: options }))
  }

  async function get(query: string): Promise<{ status: number; body: unknown; headers: Headers; ms: number }> {
    const started = Date.now()
    const res = await fetch(`${base}/api/configs/${configId}/logs${query}`, { headers: { authorization: `Bearer ${TOKEN}` } })
    return { status: res.status, body: await res.json(), headers: res.headers, ms: Date.now() - started }
  }

  async function rows(query: string): Promise<Row[]> {
    const reply = await get(query)
    assert.equal(reply.status, 200, JSON.stringify(reply.body))
    return reply.body as Row[]
  }

  beforeEach(async () => {
    h = await startManagement()
    const teamId = await createTeamRow(h)
    await installPluginFromPath(h.ctx, BASIC)
    configId = (await createConfig(h.ctx, { teamId, plugin: 'management-basic', config: { apiKey: SECRET, label: 'L' } })).id
    await start()
  })

  afterEach(async () => {
    api.releaseLongPolls()
    await new Promise((resolve) => server.close(resolve))
    await api.close()
    await h.close()
  })

  it('answers every page oldest first, so following from the last row of the first page repeats nothing', async () => {
    const written: number[] = []
    for (let i = 1; i <= 9; i++) written.push(await insertLog(h, configId, 'INFO', 'SYSTEM', `row ${i}`))
    const first = await rows('?limit=5')
    assert.deepEqual(
      first.map((r) => r.id),
      written.slice(4),
      'the newest 5 rows, oldest first',
    )
    assert.deepEqual(await rows(`?after=${first[first.length - 1].id}`), [], 'nothing after the newest row yet')

    written.push(await insertLog(h, configId, 'WARN', 'CONSOLE', 'row 10'), await insertLog(h, configId, 'INFO', 'SYSTEM', 'row 11'))
    const next = await rows(`?after=${first[first.length - 1].id}`)
    assert.deepEqual(
      next.map((r) => r.message),
      ['row 10', 'row 11'],
    )
    const seen = [...first, ...next].map((r) => r.id)
    assert.equal(new Set(seen).size, seen.length, 'no row twice')
    assert.deepEqual(
      (await rows(`?after=${written[0]}&limit=2`)).map((r) => r.message),
      ['row 2', 'row 3'],
      'after= pages forward from the id: the first rows after it, not the last',
    )
  })

  it('holds a follow request with wait until a row arrives, and answers only the rows after the cursor', async () => {
    const cursor = await insertLog(h, configId, 'INFO', 'SYSTEM', 'before')
    const pending = get(`?after=${cursor}&wait=20`)
    await eventually(
      'the long-poll to be held',
      async () => api.longPolls(),
      (n) => n === 1,
      5000,
    )
    const written = Date.now()
    await insertLog(h, configId, 'ERROR', 'PLUGIN', `failed with ${SECRET}`)
    const reply = await pending
    assert.equal(reply.status, 200)
    assert.deepEqual(
      (reply.body as Row[]).map((r) => r.message),
      ['failed with [secret]'],
    )
    const latency = Date.now() - written
    assert.ok(latency < 2000, `answered ${latency} ms after the row was written (one check every 500 ms)`)
    assert.equal(api.longPolls(), 0)
  })

  it('goes on waiting past rows its filters leave out, and answers empty when the wait runs out', async () => {
    const cursor = await insertLog(h, configId, 'INFO', 'SYSTEM', 'before')
    const pending = get(`?after=${cursor}&wait=20&level=error`)
    await eventually(
      'the long-poll to be held',
      async () => api.longPolls(),
      (n) => n === 1,
      5000,
    )
    let answered = false
    void pending.then(() => (answered = true))
    await insertLog(h, configId, 'INFO', 'SYSTEM', 'not an error')
    // Proving a non-answer takes a span of time: three checks (500 ms apart) see the INFO row.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    assert.equal(answered, false, 'the INFO row woke the waiter, which read nothing matching and went on waiting')
    assert.equal(api.longPolls(), 1)
    await insertLog(h, configId, 'ERROR', 'PLUGIN', 'an error')
    assert.deepEqual(
      ((await pending).body as Row[]).map((r) => r.message),
      ['an error'],
    )

    const empty = await get(`?after=${cursor + 100}&wait=1`)
    assert.deepEqual(empty.body, [])
    assert.ok(empty.ms >= 900 && empty.ms < 3000, `an empty answer after the 1 s wait (${empty.ms} ms)`)
  })

  it("reads after each wake only past what the read before it found nothing in, not the config's whole history after `after` again", async () => {
    const history = await insertLog(h, configId, 'INFO', 'SYSTEM', 'history')
    const pool = h.ctx.pool
    const query = pool.query.bind(pool)
    // Where each read of the log rows started (its `id > $2`).
    const reads: number[] = []
    pool.query = ((text: unknown, values?: unknown[]) => {
      if (typeof text === 'string' && text.includes('FROM plugin_log_entries') && text.includes('id > $2') && Array.isArray(values))
        reads.push(Number(values[1]))
      return query(text as string, values)
    }) as typeof pool.query
    try {
      const pending = get(`?after=${history - 1}&wait=20&level=error`)
      const infos: number[] = []
      for (let i = 0; i < 3; i++) {
        const before = reads.length
        await eventually(
          'a read of the rows',
          async () => reads.length,
          (n) => n > before,
          5000,
        )
        infos.push(await insertLog(h, configId, 'INFO', 'SYSTEM', `not an error ${i}`))
      }
      await insertLog(h, configId, 'ERROR', 'PLUGIN', 'an error')
      assert.deepEqual(
        ((await pending).body as Row[]).map((r) => r.message),
        ['an error'],
      )
      assert.equal(reads[0], history - 1, 'the first read starts at after=')
      assert.deepEqual(
        reads,
        [...reads].sort((a, b) => a - b),
        `each read starts no earlier than the one before it: ${reads.join(', ')}`,
      )
      assert.ok(reads[reads.length - 1] >= infos[0], `the last read starts past the rows read before (${reads.join(', ')}; first INFO row ${infos[0]})`)
    } finally {
      pool.query = query
    }
  })

  it('releases a waiter whose client disconnected', async () => {
    const cursor = await insertLog(h, configId, 'INFO', 'SYSTEM', 'before')
    const req = http.get(`${base}/api/configs/${configId}/logs?after=${cursor}&wait=30`, { headers: { authorization: `Bearer ${TOKEN}` } })
    req.on('error', () => undefined)
    await eventually(
      'the long-poll to be held',
      async () => api.longPolls(),
      (n) => n === 1,
      5000,
    )
    req.destroy()
    await eventually(
      'the waiter to be released',
      async () => api.longPolls(),
      (n) => n === 0,
      2000,
    )
  })

  it('refuses a long-poll past the bound with 429 and Retry-After, and bad wait values naming wait', async () => {
    api.releaseLongPolls()
    await new Promise((resolve) => server.close(resolve))
    await api.close()
    await start({ maxWaiters: 1 })
    const cursor = await insertLog(h, configId, 'INFO', 'SYSTEM', 'before')
    const held = get(`?after=${cursor}&wait=20`)
    await eventually(
      'the long-poll to be held',
      async () => api.longPolls(),
      (n) => n === 1,
      5000,
    )
    const refused = await get(`?after=${cursor}&wait=20`)
    assert.equal(refused.status, 429)
    assert.equal(refused.headers.get('retry-after'), '5')
    assert.equal((refused.body as { error: { field: string } }).error.field, 'wait')
    assert.deepEqual(await rows(`?after=${cursor}`), [], 'a plain poll is still answered')

    api.releaseLongPolls()
    assert.deepEqual((await held).body, [], 'releasing (shutdown) answers held polls at once')

    for (const [query, message] of [
      [`?after=${cursor}&wait=31`, 'wait must be at most 30 (seconds)'],
      ['?wait=5', 'wait needs after=<id>: it waits for rows after that one'],
      ['?after=1&wait=x', 'wait must be a non-negative integer'],
    ]) {
      const reply = await get(query)
      assert.equal(reply.status, 400)
      assert.deepEqual(reply.body, { error: { code: 'validation_error', message, field: 'wait' } })
    }
  })

  it("refuses a team's long-poll past its tenth of the places, naming that limit, while another team's is still held", async () => {
    api.releaseLongPolls()
    await new Promise((resolve) => server.close(resolve))
    await api.close()
    await start({ maxWaiters: 20 })
    const otherTeam = await createTeamRow(h, 'other')
    const otherConfig = (await createConfig(h.ctx, { teamId: otherTeam, plugin: 'management-basic', config: { apiKey: SECRET, label: 'O' } })).id
    const cursor = await insertLog(h, configId, 'INFO', 'SYSTEM', 'before')
    const poll = (config: number) => fetch(`${base}/api/configs/${config}/logs?after=${cursor}&wait=20`, { headers: { authorization: `Bearer ${TOKEN}` } })
    const held = [poll(configId), poll(configId)]
    await eventually(
      'the team to hold its two places',
      async () => api.longPolls(),
      (n) => n === 2,
      5000,
    )
    const refused = await poll(configId)
    assert.equal(refused.status, 429)
    assert.equal(refused.headers.get('retry-after'), '5')
    const { error } = (await refused.json()) as { error: { message: string; field: string } }
    assert.equal(error.field, 'wait')
    assert.match(error.message, /^2 log long-polls are already waiting for team \d+'s configs on this server \(the limit for one team\)/)
    held.push(poll(otherConfig))
    await eventually(
      "the other team's long-poll to be held",
      async () => api.longPolls(),
      (n) => n === 3,
      5000,
    )
    api.releaseLongPolls()
    for (const reply of await Promise.all(held)) assert.deepEqual(await reply.json(), [])
  })
})
