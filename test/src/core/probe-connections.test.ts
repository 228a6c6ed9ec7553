import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { publishReload, ROLES } from '@plugin-server/core'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import type { FleetProcess } from '../harness/processes'

const POLLS = 1000
/** As many probes at once as a busy kubelet plus two Prometheus replicas might send. */
const PARALLEL = 8
const POOL_SIZE = 3
const ADMIN_TOKEN = 'probe-connections-admin-token'
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
  /** The role's pool (its application_name), its readiness connection, and every connection no role of the fleet made. */
  const postgresConnections = async (role: string) => {
    const { rows } = await fleet.db.pool.query<{ role: number; readiness: number; other: number }>(
      `SELECT count(*) FILTER (WHERE application_name = $1)::int AS role,
              count(*) FILTER (WHERE application_name = $1 || ' readiness')::int AS readiness,
              count(*) FILTER (WHERE application_name NOT LIKE 'plugin-server %')::int AS other
       FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      [`plugin-server ${role}`],
    )
    return rows[0]
  }

  // One at a time: the test's own pool then holds one connection, the one pg_backend_pid() leaves out.
  const postgresConnectionsOfEveryRole = async () => {
    const counts: { role: number; readiness: number; other: number }[] = []
    for (const role of ROLES) counts.push(await postgresConnections(role))
    return counts
  }

  before(async () => {
    // A small pool: /readyz does not use it (its one connection of its own), so what the polls may add is seen.
    fleet = await createTestFleet({ PG_POOL_SIZE: String(POOL_SIZE), ADMIN_API_TOKEN: ADMIN_TOKEN })
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
      // Warm up: connections made once on first use (the queue-depth reader, the readiness
      // connection) are part of the steady state, not of what the polls below may add.
      await eventually(
        'the role is ready',
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status,
        (s) => s === 200,
      )
      for (const path of ENDPOINTS) await poll(`http://127.0.0.1:${port}${path}`, PARALLEL * 4)
      const redisBefore = await redisClients()
      const postgresBefore = await postgresConnections(role)
      assert.equal(postgresBefore.readiness, 1, 'one readiness connection')
      assert.ok(postgresBefore.role <= POOL_SIZE, `${postgresBefore.role} pool connections`)
      for (const path of ENDPOINTS) await poll(`http://127.0.0.1:${port}${path}`, POLLS)
      assert.equal(await redisClients(), redisBefore, 'Redis connected_clients')
      // The pool's own count moves with the role's work (and idles out), never past its size.
      const postgresAfter = await postgresConnections(role)
      assert.ok(postgresAfter.role <= POOL_SIZE, `${postgresAfter.role} pool connections`)
      assert.deepEqual(
        { readiness: postgresAfter.readiness, other: postgresAfter.other },
        { readiness: postgresBefore.readiness, other: postgresBefore.other },
        'Postgres connections of readiness, and of no role',
      )
    })
  }

  it('capture events, admin API reads and plugin reload messages open no connection either', async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
    const requests = [
      () =>
        fetch(`${fleet.captureUrl}/batch/`, {
          method: 'POST',
          body: JSON.stringify({ api_key: fleet.team.api_token, batch: [{ event: 'e', distinct_id: 'u' }] }),
        }),
      () => fetch(`${fleet.captureUrl}/api/teams`, { headers: admin }),
      () => fetch(`${fleet.captureUrl}/api/teams/${fleet.team.id}/configs`, { headers: admin }),
      () => fetch(`${fleet.captureUrl}/api/plugins`, { headers: admin }),
      () => fetch(`${fleet.captureUrl}/api/me`, { headers: admin }),
    ]
    const round = async (times: number) => {
      for (let i = 0; i < times; i++) {
        const answers = await Promise.all(requests.map((send) => send()))
        for (const res of answers) assert.equal(res.status, 200, res.url)
        await Promise.all(answers.map((res) => res.arrayBuffer()))
      }
    }
    await round(PARALLEL)
    const redisBefore = await redisClients()
    const postgresBefore = await postgresConnectionsOfEveryRole()
    await round(200)
    for (let i = 0; i < 200; i++) await publishReload(redis, fleet.env.QUEUE_PREFIX, { reason: 'probe-connections test' })
    // Every role has taken the reloads once its readiness, which waits behind nothing, still answers.
    for (const port of ports.values()) await poll(`http://127.0.0.1:${port}/readyz`, PARALLEL)
    assert.equal(await redisClients(), redisBefore, 'Redis connected_clients')
    const postgresAfter = await postgresConnectionsOfEveryRole()
    for (const [i, role] of ROLES.entries()) {
      assert.ok(postgresAfter[i].role <= POOL_SIZE, `${role}: ${postgresAfter[i].role} pool connections`)
      assert.equal(postgresAfter[i].readiness, 1, `${role}: one readiness connection`)
      assert.equal(postgresAfter[i].other, postgresBefore[i].other, 'Postgres connections of no pool')
    }
  })

  it('each role probes and scrapes through one named Redis connection of each kind, opened once', async () => {
    const names = String(await redis.call('CLIENT', 'LIST')).match(/ name=\S+/g) ?? []
    for (const role of ROLES) {
      for (const purpose of ['readiness', 'queue-metrics']) {
        assert.equal(names.filter((n) => n === ` name=${role}:${purpose}`).length, 1, `${role}:${purpose}`)
      }
    }
  })
})
