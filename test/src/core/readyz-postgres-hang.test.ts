import assert from 'node:assert/strict'
import { BlackHoleRelay } from '../harness/black-hole-relay'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'

const POOL_SIZE = 2
/** The chart's readinessProbe timeoutSeconds. */
const PROBE_TIMEOUT_MS = 3000

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

  it('fails its probes within the probe timeout without keeping the connections they used, and is ready again once Postgres answers', async () => {
    const capture = await fleet.start('capture', { DATABASE_URL: relayedUrl })
    const port = Number(capture.lines.find((l) => l.msg === 'capture started')?.healthPort)
    const readyz = async () => {
      const started = Date.now()
      const res = await fetch(`http://127.0.0.1:${port}/readyz`)
      return { status: res.status, ms: Date.now() - started }
    }
    const readinessConnections = async () => {
      const { rows } = await fleet.db.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'plugin-server capture readiness'",
      )
      return rows[0].n
    }
    await eventually('ready', readyz, (r) => r.status === 200)
    assert.equal(await readinessConnections(), 1)
    relay.swallowing = true
    // Probes at once and one after another: each fails within the chart's probe timeout (3 s), the
    // overlapping ones sharing the one query that is never answered.
    const probes = [...(await Promise.all(Array.from({ length: POOL_SIZE * 3 }, readyz)))]
    for (let i = 0; i < POOL_SIZE * 3; i++) probes.push(await readyz())
    assert.deepEqual(
      probes.map((p) => p.status),
      Array(probes.length).fill(503),
    )
    assert.ok(
      probes.every((p) => p.ms < PROBE_TIMEOUT_MS),
      JSON.stringify(probes.map((p) => p.ms)),
    )
    relay.swallowing = false
    // The hung connections were closed: a new one is connected and the probe passes again.
    await eventually('ready again', readyz, (r) => r.status === 200, 20_000)
    await eventually('one readiness connection', readinessConnections, (n) => n === 1)
  })
})
