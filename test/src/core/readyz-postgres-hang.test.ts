import assert from 'node:assert/strict'
import { BlackHoleRelay } from '../harness/black-hole-relay'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'

const POOL_SIZE = 2

describe('/readyz while Postgres stops answering', function () {
  this.timeout(90_000)
  let fleet: TestFleet
  let relay: BlackHoleRelay
  let relayedUrl: string

  before(async () => {
    fleet = await createTestFleet({ PG_POOL_SIZE: String(POOL_SIZE) })
    relay = new BlackHoleRelay(fleet.db.url)
    relayedUrl = await relay.listen()
  })
  after(async () => {
    await fleet?.close()
    await relay?.close()
  })

  it('fails its probes without keeping the pool clients they held, and is ready again once Postgres answers', async () => {
    const capture = await fleet.start('capture', { DATABASE_URL: relayedUrl })
    const port = Number(capture.lines.find((l) => l.msg === 'capture started')?.healthPort)
    const readyz = async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status
    await eventually('ready', readyz, (s) => s === 200)
    // Probes at once until every client of the pool is connected: each of them will then hang.
    const poolClients = async () => {
      await Promise.all(Array.from({ length: POOL_SIZE * 2 }, readyz))
      const { rows } = await fleet.db.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'plugin-server capture'",
      )
      return rows[0].n
    }
    await eventually('the pool filled', poolClients, (n) => n === POOL_SIZE)
    relay.swallowing = true
    // More probes at once than the pool has clients: every client gets a query that is never answered.
    assert.deepEqual(await Promise.all(Array.from({ length: POOL_SIZE * 3 }, readyz)), Array(POOL_SIZE * 3).fill(503))
    for (let i = 0; i < POOL_SIZE * 3; i++) assert.equal(await readyz(), 503)
    relay.swallowing = false
    // The hung clients were destroyed: new ones are connected and the probe passes again.
    await eventually('ready again', readyz, (s) => s === 200, 20_000)
  })
})
