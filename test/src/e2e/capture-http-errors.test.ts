import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'
import { countEvents } from '@plugin-server/db'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'

interface Answer {
  status: number
  body: { type?: string; code?: string; detail?: string; status?: number }
}

describe('capture HTTP answers', function () {
  this.timeout(60_000)
  let fleet: TestFleet
  let token: string

  before(async () => {
    fleet = await createTestFleet({ CAPTURE_MAX_BODY_BYTES: '4096' })
    token = fleet.team.api_token
    await fleet.start('capture')
    await fleet.start('ingest-worker')
  })
  after(async () => fleet.close())

  const post = async (path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> => {
    const res = await fetch(`${fleet.captureUrl}${path}`, { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...headers } })
    return { status: res.status, body: (await res.json()) as Answer['body'] }
  }

  it('answers 200 {status: 1} once the events are stored in Redis, and they reach Postgres', async () => {
    const answer = await post('/batch/', JSON.stringify({ api_key: token, batch: [{ event: 'ok', distinct_id: 'u1', properties: {} }] }))
    assert.deepEqual(answer, { status: 200, body: { status: 1 } })
    await eventually(
      'stored',
      () => countEvents(fleet.db.pool),
      (n) => n === 1,
    )
  })

  it('400 invalid_json for a body that is not JSON', async () => {
    const answer = await post('/batch/', '{"api_key": "x", "batch": [')
    assert.equal(answer.status, 400)
    assert.equal(answer.body.code, 'invalid_json')
    assert.match(answer.body.detail!, /^invalid JSON/)
  })

  it('413 payload_too_large for a body over the limit, and for a gzip body that inflates past it', async () => {
    const big = JSON.stringify({ api_key: token, batch: [{ event: 'big', distinct_id: 'u', properties: { pad: 'x'.repeat(5000) } }] })
    const plain = await post('/batch/', big)
    assert.equal(plain.status, 413)
    assert.equal(plain.body.code, 'payload_too_large')
    assert.match(plain.body.detail!, /4096/)
    const bomb = await post('/batch/', gzipSync(big), { 'Content-Encoding': 'gzip' })
    assert.equal(bomb.status, 413)
    assert.match(bomb.body.detail!, /exceeds the 4096 byte limit/)
  })

  it('401 missing_token when no api key is given', async () => {
    const answer = await post('/e/', JSON.stringify({ event: 'x', distinct_id: 'u', properties: {} }))
    assert.equal(answer.status, 401)
    assert.equal(answer.body.code, 'missing_token')
    assert.equal(answer.body.type, 'authentication_error')
  })

  it('401 invalid_token for a token no team has', async () => {
    const answer = await post('/capture/', JSON.stringify({ api_key: 'phc_nobody', event: 'x', distinct_id: 'u', properties: {} }))
    assert.equal(answer.status, 401)
    assert.equal(answer.body.code, 'invalid_token')
    assert.match(answer.body.detail!, /unknown api token/)
  })

  it('401 invalid_token for a gzip body that names a token no team has first, before inflating the rest (/batch and /flags)', async () => {
    // The rest inflates past the body limit: inflated, it would be refused 413 instead.
    const events = JSON.stringify(Array.from({ length: 200 }, () => ({ event: 'e', distinct_id: 'd' })))
    for (const [path, key] of [
      ['/batch/', 'api_key'],
      ['/flags/?v=2', 'token'],
    ]) {
      const answer = await post(path, gzipSync(`{"${key}":"phc_nobody","batch":${events}}`), { 'Content-Encoding': 'gzip' })
      assert.equal(`${answer.status} ${answer.body.code}`, '401 invalid_token', path)
    }
    // A team's token first: the body is read whole as before.
    const known = await post('/batch/', gzipSync(`{"api_key":"${token}","batch":${events}}`), { 'Content-Encoding': 'gzip' })
    assert.equal(`${known.status} ${known.body.code}`, '413 payload_too_large')
  })

  it("answers a gzip event by the token it resolves to, not by an api_key it names first: a single event's gives way to the query's", async () => {
    const before = await countEvents(fleet.db.pool)
    const body = gzipSync(JSON.stringify({ api_key: 'phc_stale', event: 'e', distinct_id: 'u', properties: {} }))
    const answer = await post(`/e/?token=${token}`, body, { 'Content-Encoding': 'gzip' })
    assert.equal(answer.status, 200, JSON.stringify(answer.body))
    // Stored before the next test counts what it stores.
    await eventually(
      'stored',
      () => countEvents(fleet.db.pool),
      (n) => n === before + 1,
    )
  })

  it('400 missing_event_name naming the event without a name', async () => {
    const answer = await post(
      '/batch/',
      JSON.stringify({
        api_key: token,
        batch: [
          { event: 'ok', distinct_id: 'u' },
          { distinct_id: 'u', properties: {} },
        ],
      }),
    )
    assert.equal(answer.status, 400)
    assert.equal(answer.body.code, 'missing_event_name')
    assert.equal(answer.body.detail, 'event at index 1 has no "event" name')
  })

  it('404 for a path that is not a capture endpoint', async () => {
    const answer = await post('/nope', '{}')
    assert.equal(answer.status, 404)
    assert.match(answer.body.detail!, /no capture endpoint at \/nope/)
  })

  it('accepts posthog-js style gzip-js and base64 form bodies on /i/v0/e', async () => {
    const before = await countEvents(fleet.db.pool)
    const events = [{ event: '$pageview', properties: { token, distinct_id: 'web-1', $current_url: 'https://example.com/a' } }]
    const gz = await post('/i/v0/e/?compression=gzip-js', gzipSync(JSON.stringify(events)), { 'Content-Type': 'text/plain' })
    assert.equal(gz.status, 200)
    const form = `data=${encodeURIComponent(Buffer.from(JSON.stringify(events)).toString('base64'))}`
    const b64 = await post('/e/', form, { 'Content-Type': 'application/x-www-form-urlencoded' })
    assert.equal(b64.status, 200)
    await eventually(
      'stored',
      () => countEvents(fleet.db.pool),
      (n) => n === before + 2,
    )
    const { rows } = await fleet.db.pool.query(`SELECT site_url FROM events WHERE distinct_id = 'web-1'`)
    assert.deepEqual(
      rows.map((r) => r.site_url),
      ['https://example.com', 'https://example.com'],
    )
  })
})
