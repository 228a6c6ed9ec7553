import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { ROLES } from '@plugin-server/core'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import type { FleetProcess } from '../harness/processes'

const POLLS = 1000
/** As many probes at once as a busy kubelet plus two Prometheus replicas might send. */
const PARALLEL = 8
const POOL_SIZE = 3
const ENDPOINTS = ['/readyz', '/healthz', '/metrics'] as const

function healthPort(proc: FleetProcess, role: string): number {
  const started = proc.lines.find((l) => l.msg === `${role} started`)
  const port = started?.healthPort
  if (typeof port !== 'number') throw new Error(`${role} logged no health port`)
  return port
}

async function poll(url: string, times: number): Promise<void> {
  let left = times
  const failures: string[] = []
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (left-- > 0) {
        const res = await fetch(url)
        await res.arrayBuffer()
        if (res.status !== 200) failures.push(`${url} answered ${res.status}`)
      }
    }),
  )
  assert.deepEqual(failures.slice(0, 3), [], `${failures.length} of ${times} polls failed`)
}

/**
 * Kubernetes probes /readyz and /healthz every few seconds and Prometheus scrapes /metrics for the
 * whole life of a pod: anything those paths opened per call would pile up to thousands a day.
 */
describe('health probes and metric scrapes', function () {
  this.timeout(180_000)
  let fleet: TestFleet
  let redis: Redis
  const ports = new Map<string, number>()

  const redisClients = async () => Number(/connected_clients:(\d+)/.exec(await redis.info('clients'))?.[1])
  /** The role's pool (its application_name) and every connection no pool of the fleet made. */
  const postgresConnections = async (role: string) => {
    const { rows } = await fleet.db.pool.query<{ role: number; other: number }>(
      `SELECT count(*) FILTER (WHERE application_name = $1)::int AS role,
              count(*) FILTER (WHERE application_name NOT LIKE 'plugin-server %')::int AS other
       FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      [`plugin-server ${role}`],
    )
    return rows[0]
  }

  before(async () => {
    // A small pool, filled by the warm-up: from then on the pool neither grows nor idles out.
    fleet = await createTestFleet({ PG_POOL_SIZE: String(POOL_SIZE) })
    redis = new Redis(process.env.REDIS_URL!)
    for (const role of ROLES) ports.set(role, healthPort(await fleet.start(role), role))
  })
  after(async () => {
    redis?.disconnect()
    await fleet?.close()
  })

  for (const role of ROLES) {
    it(`${role}: ${POLLS} calls each of /readyz, /healthz and /metrics open no Redis or Postgres connection`, async () => {
      const port = ports.get(role)!
      // Warm up: connections made once on first use (the queue-depth reader, pool clients up to the
      // probes' concurrency) are part of the steady state, not of what the polls below may add.
      await eventually(
        'the role is ready',
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status,
        (s) => s === 200,
      )
      for (const path of ENDPOINTS) await poll(`http://127.0.0.1:${port}${path}`, PARALLEL * 4)
      const redisBefore = await redisClients()
      const postgresBefore = await postgresConnections(role)
      assert.equal(postgresBefore.role, POOL_SIZE, 'the warm-up filled the pool')
      for (const path of ENDPOINTS) await poll(`http://127.0.0.1:${port}${path}`, POLLS)
      assert.equal(await redisClients(), redisBefore, 'Redis connected_clients')
      assert.deepEqual(await postgresConnections(role), postgresBefore, 'Postgres connections of the role pool, and of no pool')
    })
  }

  it('each role probes and scrapes through one named Redis connection of each kind, opened once', async () => {
    const names = String(await redis.call('CLIENT', 'LIST')).match(/ name=\S+/g) ?? []
    for (const role of ROLES) {
      for (const purpose of ['readiness', 'queue-metrics']) {
        assert.equal(names.filter((n) => n === ` name=${role}:${purpose}`).length, 1, `${role}:${purpose}`)
      }
    }
  })
})
