import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { toPostgresJson, toPostgresText } from '@plugin-server/core'
import { countEvents, insertEvents, storeEvents } from '@plugin-server/db'
import { createTestDatabase, TestDatabase } from '../harness/databases'
import { ingestEvent } from './ingest-event'

describe('insertEvents', () => {
  let db: TestDatabase
  beforeEach(async () => (db = await createTestDatabase()))
  afterEach(async () => db.drop())

  it('stores a batch and reports how many rows were new', async () => {
    const events = [ingestEvent(), ingestEvent({ properties: { nested: { x: [1, 2] }, text: 'é 🚀' } })]
    assert.equal(await insertEvents(db.pool, events), 2)
    const { rows } = await db.pool.query('SELECT properties FROM events ORDER BY properties::text')
    assert.deepEqual(
      rows.map((r) => r.properties),
      [{ a: 1 }, { nested: { x: [1, 2] }, text: 'é 🚀' }],
    )
  })

  it('stores nothing twice when the same batch is delivered again', async () => {
    const events = [ingestEvent(), ingestEvent(), ingestEvent()]
    await insertEvents(db.pool, events)
    assert.equal(await insertEvents(db.pool, [...events, ingestEvent()]), 1)
    assert.equal(await countEvents(db.pool), 4)
  })

  it("stores two teams' events that share a uuid, each once; the same team sending it again stores nothing", async () => {
    const uuid = randomUUID()
    assert.equal(await insertEvents(db.pool, [ingestEvent({ uuid, team_id: 1, event: 'from team 1' })]), 1)
    assert.equal(await insertEvents(db.pool, [ingestEvent({ uuid, team_id: 2, event: 'from team 2' })]), 1)
    assert.equal(await insertEvents(db.pool, [ingestEvent({ uuid, team_id: 2, event: 'team 2 again' })]), 0)
    const { rows } = await db.pool.query('SELECT team_id, event FROM events WHERE uuid = $1 ORDER BY team_id', [uuid])
    assert.deepEqual(rows, [
      { team_id: 1, event: 'from team 1' },
      { team_id: 2, event: 'from team 2' },
    ])
  })

  it('storeEvents: gives back the batch as the table holds it — each uuid once, a skipped event as its stored row', async () => {
    const uuid = randomUUID()
    const first = ingestEvent({ uuid, event: 'first' })
    const other = ingestEvent()
    const once = await storeEvents(db.pool, [first, ingestEvent({ uuid, event: 'second' }), other, { ...first }])
    assert.deepEqual({ stored: once.stored, asStored: once.asStored.map((e) => e.event) }, { stored: 2, asStored: ['first', other.event] })
    const reused = await storeEvents(db.pool, [ingestEvent({ uuid, event: 'third (a client retry, or anyone reusing the uuid)' })])
    assert.deepEqual(
      { stored: reused.stored, asStored: reused.asStored.map((e) => [e.uuid, e.event]) },
      { stored: 0, asStored: [[uuid, 'first']] },
      'what the table holds, not the content sent again',
    )
    // A batch run again after its worker died: a plugin may compute something else for it this time.
    const redelivered = await storeEvents(db.pool, [{ ...first, uuid: uuid.toUpperCase(), properties: { computed: 'again' } }, other])
    assert.deepEqual(
      { stored: redelivered.stored, asStored: redelivered.asStored.map((e) => [e.event, e.properties]) },
      {
        stored: 0,
        asStored: [
          ['first', first.properties],
          [other.event, other.properties],
        ],
      },
      'a batch delivered again is given back whole, as stored: its hand-off may not have happened',
    )
  })

  it('stores an event whose timestamp Postgres cannot hold (year 0) at the time of the insert, beside the rest of its batch', async () => {
    const before = Date.now()
    const result = await storeEvents(db.pool, [ingestEvent({ event: 'fine' }), ingestEvent({ event: 'year 0', timestamp: '0000-06-15T00:00:00.000Z' })])
    assert.equal(result.stored, 2)
    const { rows } = await db.pool.query<{ timestamp: Date }>(`SELECT timestamp FROM events WHERE event = 'year 0'`)
    assert.ok(rows[0].timestamp.getTime() >= before - 1000, String(rows[0].timestamp))
    assert.equal(result.asStored[1].timestamp, rows[0].timestamp.toISOString(), 'the exporters get the time as stored')
  })

  it('replaces lone UTF-16 surrogates, which Postgres jsonb refuses, with U+FFFD and keeps surrogate pairs', async () => {
    const event = ingestEvent({
      event: 'lone \ud800',
      distinct_id: '\udc00',
      properties: { high: 'a\ud800b', low: '\udfff', pair: '\ud83d\ude80', '\udbff': 1 },
    })
    assert.equal(await insertEvents(db.pool, [event]), 1)
    const { rows } = await db.pool.query('SELECT event, distinct_id, properties FROM events')
    assert.deepEqual(rows, [{ event: 'lone \ufffd', distinct_id: '\ufffd', properties: { high: 'a\ufffdb', low: '\ufffd', pair: '🚀', '\ufffd': 1 } }])
  })

  it('storeEvents: gives back an event whose NULs and lone surrogates were taken out as the table holds it, for the exporters', async () => {
    const plain = ingestEvent({ event: 'plain' })
    const odd = ingestEvent({
      event: 'n\u0000ame \ud800',
      distinct_id: 'd\u0000',
      properties: { 'k\u0000ey': 'v\u0000al', low: '\udc00', $set: { 's\u0000': 1 } },
      site_url: 'https://x\u0000.example',
    })
    const fresh = await storeEvents(db.pool, [plain, odd])
    const { rows } = await db.pool.query('SELECT event, distinct_id, properties, site_url FROM events WHERE uuid = $1', [odd.uuid])
    assert.deepEqual(rows, [
      { event: 'name \ufffd', distinct_id: 'd', properties: { key: 'val', low: '\ufffd', $set: { s: 1 } }, site_url: 'https://x.example' },
    ])
    const given = (e: (typeof fresh.asStored)[number]) => ({ event: e.event, distinct_id: e.distinct_id, properties: e.properties, site_url: e.site_url })
    assert.deepEqual(given(fresh.asStored[1]), rows[0], 'the exporters get what the table holds')
    assert.deepEqual(fresh.asStored[0], plain, 'the rest of the batch as it was')
    // A batch of new and already stored events takes the other path to the same answer.
    const again = await storeEvents(db.pool, [plain, { ...odd, uuid: randomUUID() }])
    assert.deepEqual(given(again.asStored[1]), rows[0])
  })

  it('stores an event name cut to its first 200 characters, as PostHog stores it, and hands it on so; a surrogate pair is not split', async () => {
    const long = ingestEvent({ event: 'n'.repeat(199) + '🚀 and more' })
    const huge = ingestEvent({ event: 'h'.repeat(500_000) })
    const short = ingestEvent({ event: 'n'.repeat(200) })
    const result = await storeEvents(db.pool, [long, huge, short])
    const { rows } = await db.pool.query<{ uuid: string; event: string }>('SELECT uuid, event FROM events')
    const stored = new Map(rows.map((r) => [r.uuid, r.event]))
    assert.equal(stored.get(long.uuid), 'n'.repeat(199), 'the rocket would have been half a surrogate pair')
    assert.equal(stored.get(huge.uuid), 'h'.repeat(200))
    assert.equal(stored.get(short.uuid), short.event)
    assert.deepEqual(
      result.asStored.map((e) => e.event),
      [long, huge, short].map((e) => stored.get(e.uuid)),
      'the exporters get the names as stored',
    )
  })
})

describe('toPostgresJson', () => {
  it('removes NUL escapes but keeps a literal backslash followed by "u0000"', () => {
    const value = { a: 'x\u0000y', b: '\\u0000 stays', c: '\\\u0000' }
    assert.deepEqual(JSON.parse(toPostgresJson(JSON.stringify(value))), { a: 'xy', b: '\\u0000 stays', c: '\\' })
  })

  it('toPostgresText: cleans plain text the same way, for text a plugin wrote (an error message)', () => {
    assert.equal(toPostgresText('bad \u0000 key \ud800, \\u0000 stays, 🚀 too'), 'bad  key \ufffd, \\u0000 stays, 🚀 too')
  })

  it('replaces lone surrogate escapes, keeps escaped pairs and literal backslashes followed by "ud800"', () => {
    const json = '{"a":"\\ud800","b":"\\\\ud800","c":"\\ud83d\\ude80","d":"\\udc00\\ud800","e":"\\\\\\udc00"}'
    assert.deepEqual(JSON.parse(toPostgresJson(json)), { a: '\ufffd', b: '\\ud800', c: '🚀', d: '\ufffd\ufffd', e: '\\\ufffd' })
  })

  it('never joins two lone halves with a NUL between them into a pair', () => {
    assert.deepEqual(JSON.parse(toPostgresJson(JSON.stringify({ a: '\ud83d\u0000\ude80' }))), { a: '\ufffd\ufffd' })
  })
})
