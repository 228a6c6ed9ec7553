import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { PostHog } from 'posthog-node'
import { createQueue, QUEUES } from '@plugin-server/core'
import { countEvents } from '@plugin-server/db'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { enablePlugin, managementContext, writePlugin } from '../harness/plugins'

describe('the processEvent chain on two ingest-worker processes, one killed with SIGKILL', function () {
  this.timeout(300_000)
  let fleet: TestFleet

  before(async () => {
    fleet = await createTestFleet({ INGEST_LOCK_DURATION_MS: '2000', INGEST_CONCURRENCY: '2' })
  })
  after(async () => fleet.close())

  it('stores exactly the 10 000 events less those a plugin dropped, none doubled', async () => {
    const management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
    await enablePlugin(
      management,
      fleet.team.id,
      writePlugin('drop-every-tenth', `export function processEvent(e) { return e.properties.seq % 10 === 0 ? null : e }`),
      {},
      { order: 1 },
    )
    await enablePlugin(
      management,
      fleet.team.id,
      // Slow on the fourth thousand only: the kill then surely finds batches in flight, however fast the rest is. Each of
      // those batches stays active ≥ 250 ms, longer than the 100 ms between looks at the queue (at 3 ms, a run missed them all).
      writePlugin(
        'tagger',
        `export async function processEvent(e) {
          if (e.properties.seq >= 3000 && e.properties.seq < 4000) await new Promise((r) => setTimeout(r, 250))
          e.properties.tagged = true
          return e
        }`,
      ),
      {},
      { order: 2 },
    )
    await management.close()
    await fleet.start('capture')
    const workers = [await fleet.start('ingest-worker'), await fleet.start('ingest-worker')]
    const redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null })
    const queue = createQueue(QUEUES.ingest, redis, fleet.env.QUEUE_PREFIX)
    let killedWhileActive = false
    try {
      for (let chunk = 0; chunk < 10; chunk++) {
        const client = new PostHog(fleet.team.api_token, { host: fleet.captureUrl, flushAt: 100, flushInterval: 10, fetchRetryCount: 5 })
        for (let i = chunk * 1000; i < (chunk + 1) * 1000; i++) client.capture({ distinctId: `u${i % 50}`, event: 'e', properties: { seq: i } })
        const sending = client.shutdown()
        if (chunk === 3) {
          await eventually(
            'batches in flight',
            () => queue.getActiveCount(),
            (n) => n > 0,
            30_000,
          )
          killedWhileActive = true
          await workers[0].kill('SIGKILL')
        }
        await sending
        if (chunk === 6) workers[0] = await fleet.start('ingest-worker')
      }
    } finally {
      await queue.close()
      redis.disconnect()
    }
    assert.ok(killedWhileActive)
    await eventually(
      'all stored',
      () => countEvents(fleet.db.pool),
      (n) => n >= 9000,
      120_000,
    )
    await new Promise((r) => setTimeout(r, 1000))
    const { rows } = await fleet.db.pool.query<{ n: number; distinct_seq: number; tagged: number; tenths: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT properties->>'seq')::int AS distinct_seq,
              count(*) FILTER (WHERE properties->>'tagged' = 'true')::int AS tagged,
              count(*) FILTER (WHERE (properties->>'seq')::int % 10 = 0)::int AS tenths
       FROM events`,
    )
    assert.deepEqual(rows[0], { n: 9000, distinct_seq: 9000, tagged: 9000, tenths: 0 })
  })
})
