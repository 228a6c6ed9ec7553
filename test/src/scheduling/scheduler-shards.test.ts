import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { createTeam } from '@plugin-server/db'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { enablePlugin, managementContext } from '../harness/plugins'
import type { FleetProcess } from '../harness/processes'
// The soak run is its own project (soak/), built before the tests; src and dist sit at the same depth.
import { metricValue } from '../../../soak/dist/prom-text'
import { fastSchedulerEnv, overlaps, recordedRuns } from './scheduling-fixture'

const TIME_SCALE = 30
const LEASE = 2000
const SHARDS = 4
const CONFIGS = 8

type Line = FleetProcess['lines'][number]

/** The shards a replica said it owns last. */
function owned(proc: FleetProcess): number[] | null {
  const said = proc.lines.filter((l) => l.msg === 'scheduler shards owned')
  return said.length === 0 ? null : (said[said.length - 1].shards as number[])
}

function startsOf(proc: FleetProcess, since: number): Line[] {
  return proc.lines.filter((l) => l.msg === 'scheduled task started' && Number(l.time) >= since)
}

async function liveIsolates(proc: FleetProcess): Promise<number> {
  return metricValue(await proc.metrics(), 'plugin_vm_live_isolates') ?? Number.NaN
}

describe('scheduler: chains sharded over replicas (SCHEDULER_SHARDS=4, two replicas, child processes)', function () {
  this.timeout(180_000)
  let fleet: TestFleet
  let replicas: FleetProcess[]
  let management: ReturnType<typeof managementContext>
  const configIds: number[] = []

  before(async () => {
    fleet = await createTestFleet({ ...fastSchedulerEnv(TIME_SCALE, LEASE), SCHEDULER_SHARDS: String(SHARDS) })
    management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
    // One config per team, as a fleet of tenants has them.
    for (let i = 0; i < CONFIGS; i++) {
      const team = i === 0 ? fleet.team : await createTeam(fleet.db.pool, `shard team ${i}`)
      configIds.push((await enablePlugin(management, team.id, 'scheduling-recorder')).id)
    }
    replicas = await Promise.all([1, 2].map(() => fleet.start('scheduler')))
  })
  after(async () => {
    await management.close()
    await fleet.close()
  })

  it('deals the shards out between the replicas, and runs each config on the replica owning its shard only, which alone sets it up', async () => {
    await eventually(
      'each replica owns two shards, together all four',
      async () => replicas.map(owned),
      (shards) => shards.every((s) => s?.length === 2) && new Set(shards.flatMap((s) => s ?? [])).size === SHARDS,
    )
    const since = Date.now()
    await eventually(
      'every config ran twice after the deal',
      async () => configIds.map((id) => replicas.flatMap((r) => startsOf(r, since)).filter((l) => l.plugin_config_id === id).length),
      (counts) => counts.every((n) => n >= 2),
      60_000,
    )
    for (const id of configIds) {
      const ranOn = replicas.filter((r) => startsOf(r, since).some((l) => l.plugin_config_id === id))
      assert.equal(ranOn.length, 1, `config ${id} ran on ${ranOn.length} replicas`)
      assert.ok(owned(ranOn[0])!.includes(id % SHARDS), `config ${id} (shard ${id % SHARDS}) ran on a replica owning ${JSON.stringify(owned(ranOn[0]))}`)
    }
    for (const replica of replicas) {
      const mine = configIds.filter((id) => owned(replica)!.includes(id % SHARDS)).length
      assert.equal(await liveIsolates(replica), mine, 'a replica holds isolates for the configs of its shards only')
    }
  })

  it('hands a SIGKILLed replica’s shards to the survivor, which then runs every config', async () => {
    const [killed, survivor] = replicas
    await killed.kill('SIGKILL')
    const killedAt = Date.now()
    await eventually(
      'the survivor owns every shard',
      async () => owned(survivor),
      (shards) => shards?.length === SHARDS,
      // The dead replica's heartbeat must age past the lease first.
      30_000,
    )
    await eventually(
      'every config ran on the survivor after the kill',
      async () => configIds.filter((id) => !startsOf(survivor, killedAt).some((l) => l.plugin_config_id === id)),
      (left) => left.length === 0,
      60_000,
    )
    assert.equal(await liveIsolates(survivor), CONFIGS)
    const overlaps = survivor.lines.filter((l) => /overlap/.test(String(l.msg)))
    assert.deepEqual(overlaps, [])
  })

  it('gives half the shards to a replica that joins, and tears down the configs it gave away', async () => {
    const survivor = replicas[1]
    const joined = await fleet.start('scheduler')
    replicas.push(joined)
    await eventually(
      'the two replicas own two shards each',
      async () => [owned(survivor), owned(joined)],
      (shards) => shards.every((s) => s?.length === 2),
      30_000,
    )
    const since = Date.now()
    const theirs = configIds.filter((id) => owned(joined)!.includes(id % SHARDS))
    await eventually(
      'the configs of the given shards ran on the new replica',
      async () => theirs.filter((id) => !startsOf(joined, since).some((l) => l.plugin_config_id === id)),
      (left) => left.length === 0,
      60_000,
    )
    await eventually(
      'the old replica holds only its own configs’ isolates',
      () => liveIsolates(survivor),
      (n) => n === CONFIGS - theirs.length,
    )
    assert.equal(await liveIsolates(joined), theirs.length)
    // The survivor gained two shards at the kill and gave them away now: it closed their connections.
    const redis = new Redis(fleet.env.REDIS_URL)
    try {
      await eventually(
        'one shard worker connection per shard owned, none left of the shards given away',
        async () =>
          String(await redis.client('LIST'))
            .split('\n')
            .filter((line) => / name=scheduler:scheduler-worker /.test(line)).length,
        (n) => n === SHARDS,
        10_000,
      )
    } finally {
      redis.disconnect()
    }
  })
})

describe('scheduler: changing SCHEDULER_SHARDS moves a chain to its new shard without running it twice', function () {
  this.timeout(180_000)
  let fleet: TestFleet
  let management: ReturnType<typeof managementContext>
  let redis: Redis

  before(async () => {
    fleet = await createTestFleet(fastSchedulerEnv(TIME_SCALE, LEASE))
    management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
    redis = new Redis(fleet.env.REDIS_URL)
  })
  after(async () => {
    redis.disconnect()
    await management.close()
    await fleet.close()
  })

  it('drops the run left in the old shard’s queue (a queue the new deal still works) and runs the chain from its new shard', async () => {
    // An id that is in shard 0 of 2 and shard 2 of 4: the old queue `scheduled-0` is worked after the change too.
    await fleet.db.pool.query(`SELECT setval(pg_get_serial_sequence('plugin_configs', 'id'), 101)`)
    const config = await enablePlugin(management, fleet.team.id, 'scheduling-recorder')
    assert.equal(config.id % 4, 2)
    const before = await fleet.start('scheduler', { SCHEDULER_SHARDS: '2' })
    await eventually(
      'two runs from scheduled-0',
      async () => before.lines.filter((l) => l.msg === 'scheduled task started' && l.plugin_config_id === config.id).length,
      (n) => n >= 2,
      60_000,
    )
    await before.kill('SIGTERM')
    const after = await fleet.start('scheduler', { SCHEDULER_SHARDS: '4' })
    const dropped = await after.waitForLog((l) => l.msg === 'scheduled task dropped: its chain now lives in another shard, the chain ends here', 60_000)
    assert.equal(dropped.plugin_config_id, config.id)
    assert.equal(dropped.queue, 'scheduled-0')
    assert.equal(dropped.shard_queue, 'scheduled-2')
    const since = Number(dropped.time)
    await eventually(
      'two runs from scheduled-2',
      async () => after.lines.filter((l) => l.msg === 'scheduled task started' && l.plugin_config_id === config.id && Number(l.time) >= since).length,
      (n) => n >= 2,
      60_000,
    )
    const { runs } = await recordedRuns(redis, fleet.env.QUEUE_PREFIX, config.plugin_id, fleet.team.id)
    assert.deepEqual(overlaps(runs), [])
  })
})
