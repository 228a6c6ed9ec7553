import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { createQueue, QUEUES } from '@plugin-server/core'
import { updateConfig } from '@plugin-server/management'
import { BlackHoleRelay } from '../harness/black-hole-relay'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { enablePlugin, managementContext, writePlugin } from '../harness/plugins'

describe('an ingest-worker whose Postgres connections stop answering for a few seconds', function () {
  this.timeout(180_000)
  let fleet: TestFleet
  let relay: BlackHoleRelay
  let relayedUrl: string
  let management: ReturnType<typeof managementContext>
  let redis: Redis

  before(async () => {
    fleet = await createTestFleet({ CAPTURE_BATCH_MAX_WAIT_MS: '0', PG_QUERY_TIMEOUT_MS: '2000' })
    management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
    relay = new BlackHoleRelay(fleet.db.url)
    relayedUrl = await relay.listen()
    redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null })
  })
  after(async () => {
    redis?.disconnect()
    await management?.close()
    await fleet?.close()
    await relay?.close()
  })

  const send = async (name: string) => {
    const res = await fetch(`${fleet.captureUrl}/batch`, {
      method: 'POST',
      body: JSON.stringify({ api_key: fleet.team.api_token, batch: [{ event: name, distinct_id: 'u', properties: {} }] }),
    })
    assert.equal(res.status, 200)
  }
  const tags = async (name: string) =>
    (await fleet.db.pool.query<{ tag: string | null }>(`SELECT properties->>'tag' AS tag FROM events WHERE event = $1`, [name])).rows.map((r) => r.tag)

  it('stores the batch it held, applies the config changed meanwhile, and shuts down cleanly once Postgres answers again', async () => {
    const config = await enablePlugin(
      management,
      fleet.team.id,
      writePlugin('tagger', `export function processEvent(e, { config }) { e.properties.tag = config.tag; return e }`, [
        { key: 'tag', type: 'string', required: true },
      ]),
      { tag: 'v1' },
    )
    await fleet.start('capture')
    const worker = await fleet.start('ingest-worker', { DATABASE_URL: relayedUrl })
    const readyz = async () => (await fetch(`http://127.0.0.1:${await worker.healthPort()}/readyz`)).status
    await send('warmup')
    assert.deepEqual(
      await eventually(
        'warmup stored',
        () => tags('warmup'),
        (t) => t.length === 1,
      ),
      ['v1'],
    )

    relay.swallowing = true
    const queue = createQueue(QUEUES.ingest, redis, fleet.env.QUEUE_PREFIX)
    try {
      await send('during')
      await eventually(
        'the batch taken and waiting on Postgres',
        () => queue.getActiveCount(),
        (n) => n === 1,
      )
    } finally {
      await queue.close()
    }
    await updateConfig(management, config.id, { config: { tag: 'v2' } })
    await eventually('not ready while Postgres does not answer', readyz, (s) => s === 503)
    relay.swallowing = false

    await eventually(
      'the batch held stored',
      () => tags('during'),
      (t) => t.length === 1,
      60_000,
    )
    await eventually('ready again', readyz, (s) => s === 200, 60_000)
    await updateConfig(management, config.id, { config: { tag: 'v3' } })
    await eventually(
      'an event tagged by the config changed after Postgres answered again',
      async () => (await send('after'), tags('after')),
      (t) => t.includes('v3'),
      60_000,
    )
    assert.equal(await worker.kill('SIGTERM'), 0)
    assert.ok(worker.lines.some((l) => l.msg === 'shutdown complete'))
  })
})
