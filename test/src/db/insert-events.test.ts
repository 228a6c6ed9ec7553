import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { IngestEvent } from '@plugin-server/core'
import { countEvents, insertEvents } from '@plugin-server/db'
import { createTestDatabase, TestDatabase } from '../harness/databases'

export function ingestEvent(overrides: Partial<IngestEvent> = {}): IngestEvent {
  const now = new Date().toISOString()
  return {
    uuid: randomUUID(),
    team_id: 1,
    event: '$pageview',
    distinct_id: 'user-1',
    properties: { a: 1 },
    timestamp: now,
    now,
    sent_at: null,
    ip: '127.0.0.1',
    site_url: '',
    ...overrides,
  }
}

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
})

describe('stripNulFromJson', () => {
  it('removes NUL escapes but keeps a literal backslash followed by "u0000"', async () => {
    const { stripNulFromJson } = await import('@plugin-server/core')
    const value = { a: 'x\u0000y', b: '\\u0000 stays', c: '\\\u0000' }
    assert.deepEqual(JSON.parse(stripNulFromJson(JSON.stringify(value))), { a: 'xy', b: '\\u0000 stays', c: '\\' })
  })
})
