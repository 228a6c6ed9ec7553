import assert from 'node:assert/strict'
import { PostHog } from 'posthog-node'
import Redis from 'ioredis'
import { createQueue, QUEUES } from '@plugin-server/core'
import { countEvents } from '@plugin-server/db'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'

interface Sent {
  uuid: string
  event: string
  distinctId: string
  properties: Record<string, unknown>
  timestamp: Date
}

/** Sends `count` events through the real client: gzip or not, flushed in batches of `flushAt`. */
async function send(host: string, token: string, events: Sent[], options: { gzip: boolean; flushAt: number }): Promise<void> {
  const client = new PostHog(token, {
    host,
    flushAt: options.flushAt,
    flushInterval: 20,
    disableCompression: !options.gzip,
    fetchRetryCount: 5,
    fetchRetryDelay: 200,
  })
  for (const e of events) client.capture({ uuid: e.uuid, distinctId: e.distinctId, event: e.event, properties: e.properties, timestamp: e.timestamp })
  await client.shutdown()
}

function makeEvents(count: number, from = 0): Sent[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k
    return {
      uuid: crypto.randomUUID(),
      event: i % 3 === 0 ? 'signed up' : '$pageview',
      distinctId: `user-${i % 37}`,
      properties: { seq: i, plan: i % 2 ? 'free' : 'pro', nested: { list: [i, 'x'], ok: true } },
      timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)),
    }
  })
}

async function assertStoredExactly(fleet: TestFleet, sent: Sent[]): Promise<void> {
  await eventually(
    'stored events',
    () => countEvents(fleet.db.pool),
    (n) => n >= sent.length,
    60_000,
  )
  const { rows } = await fleet.db.pool.query<{
    uuid: string
    event: string
    distinct_id: string
    properties: Record<string, unknown>
    timestamp: Date
    team_id: number
  }>('SELECT uuid, event, distinct_id, properties, timestamp, team_id FROM events')
  assert.equal(rows.length, sent.length, 'exactly the events sent are stored')
  const byUuid = new Map(rows.map((r) => [r.uuid, r]))
  for (const e of sent) {
    const row = byUuid.get(e.uuid)
    assert.ok(row, `event ${e.uuid} (seq ${String(e.properties.seq)}) is stored`)
    assert.equal(row.event, e.event)
    assert.equal(row.distinct_id, e.distinctId)
    assert.equal(row.team_id, fleet.team.id)
    assert.deepEqual(row.properties.nested, e.properties.nested)
    assert.equal(row.properties.seq, e.properties.seq)
    assert.equal(row.properties.$lib, 'posthog-node')
    // The client's clock is the test's clock, so skew correction leaves the timestamp within a few seconds.
    assert.ok(Math.abs(row.timestamp.getTime() - e.timestamp.getTime()) < 5_000, `timestamp of seq ${String(e.properties.seq)} kept`)
  }
}

describe('posthog-node → capture → BullMQ → ingest-worker → Postgres', function () {
  this.timeout(180_000)
  let fleet: TestFleet

  beforeEach(async () => {
    fleet = await createTestFleet({ INGEST_LOCK_DURATION_MS: '2000' })
  })
  afterEach(async () => fleet.close())

  it('stores exactly the 1 000 events the client sent, gzip and plain, batched and not', async () => {
    await fleet.start('capture')
    await fleet.start('ingest-worker')
    const sent = makeEvents(1000)
    await Promise.all([
      send(fleet.captureUrl, fleet.team.api_token, sent.slice(0, 400), { gzip: true, flushAt: 100 }),
      send(fleet.captureUrl, fleet.team.api_token, sent.slice(400, 700), { gzip: false, flushAt: 50 }),
      send(fleet.captureUrl, fleet.team.api_token, sent.slice(700, 1000), { gzip: true, flushAt: 1 }),
    ])
    await assertStoredExactly(fleet, sent)
  })

  it('loses and doubles nothing when an ingest-worker is killed with SIGKILL mid-run and restarted', async () => {
    await fleet.start('capture')
    let worker = await fleet.start('ingest-worker', { INGEST_CONCURRENCY: '2' })
    const redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null })
    const queue = createQueue(QUEUES.ingest, redis, fleet.env.QUEUE_PREFIX)
    const sent = makeEvents(1000)
    const chunks = Array.from({ length: 10 }, (_, i) => sent.slice(i * 100, (i + 1) * 100))
    const lock = await fleet.db.pool.connect()
    try {
      for (const [i, chunk] of chunks.entries()) {
        if (i === 3) {
          // Inserts now block, so the worker is holding batches it has not stored when it is killed.
          await lock.query('BEGIN')
          await lock.query('LOCK TABLE events IN EXCLUSIVE MODE')
        }
        await send(fleet.captureUrl, fleet.team.api_token, chunk, { gzip: i % 2 === 0, flushAt: 10 })
        if (i === 4) {
          await eventually(
            'batches in flight',
            () => queue.getActiveCount(),
            (n) => n > 0,
          )
          assert.ok((await countEvents(fleet.db.pool)) <= 300, 'the worker holds batches it has not stored')
          await worker.kill('SIGKILL')
          // Postgres may still commit the insert the dead worker left waiting on the lock: its batch is then redelivered
          // and must not be stored twice.
          await lock.query('COMMIT')
        }
        if (i === 6) worker = await fleet.start('ingest-worker', { INGEST_CONCURRENCY: '2' })
      }
    } finally {
      lock.release()
      await queue.close()
      redis.disconnect()
    }
    await assertStoredExactly(fleet, sent)
  })
})
