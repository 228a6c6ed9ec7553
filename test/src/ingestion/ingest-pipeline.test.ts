import assert from 'node:assert/strict'
import { countEvents } from '@plugin-server/db'
import { IngestPipeline } from '@plugin-server/ingestion'
import { createTestDatabase, TestDatabase } from '../harness/databases'
import { ingestEvent } from '../db/insert-events.test'

describe('IngestPipeline', () => {
  let db: TestDatabase
  beforeEach(async () => (db = await createTestDatabase()))
  afterEach(async () => db.drop())

  it('runs the steps in order over the whole batch, then stores what is left', async () => {
    const calls: number[] = []
    const pipeline = new IngestPipeline(db.pool, [
      { name: 'drop odd', run: async (events) => (calls.push(events.length), events.filter((e) => (e.properties.n as number) % 2 === 0)) },
      { name: 'tag', run: async (events) => (calls.push(events.length), events.map((e) => ({ ...e, properties: { ...e.properties, tagged: true } }))) },
    ])
    const result = await pipeline.process({ events: [0, 1, 2, 3].map((n) => ingestEvent({ properties: { n } })) })
    assert.deepEqual(calls, [4, 2])
    assert.deepEqual(result, { received: 4, stored: 2, duplicates: 0, dropped: 2 })
    const { rows } = await db.pool.query("SELECT properties FROM events ORDER BY (properties->>'n')::int")
    assert.deepEqual(
      rows.map((r) => r.properties),
      [
        { n: 0, tagged: true },
        { n: 2, tagged: true },
      ],
    )
  })

  it('removes NUL characters Postgres cannot store instead of failing the batch', async () => {
    const pipeline = new IngestPipeline(db.pool)
    await pipeline.process({ events: [ingestEvent({ distinct_id: 'a\u0000b', properties: { 'k\u0000': 'v\u0000w' } })] })
    const { rows } = await db.pool.query('SELECT distinct_id, properties FROM events')
    assert.deepEqual(rows, [{ distinct_id: 'ab', properties: { k: 'vw' } }])
  })

  it('counts a redelivered batch as duplicates', async () => {
    const pipeline = new IngestPipeline(db.pool)
    const batch = { events: [ingestEvent(), ingestEvent()] }
    await pipeline.process(batch)
    assert.deepEqual(await pipeline.process(batch), { received: 2, stored: 0, duplicates: 2, dropped: 0 })
    assert.equal(await countEvents(db.pool), 2)
  })
})
