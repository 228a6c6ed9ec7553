import assert from 'node:assert/strict'
import Redis from 'ioredis'
import pino from 'pino'
import { dealShards, ShardOwnership } from '@plugin-server/scheduling'
import { testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'

const SHARDS = 16
const LEASE_MS = 1000

/** One replica's ownership, with every change it was told of. */
interface Replica {
  ownership: ShardOwnership
  changes: number[][]
}

describe('ShardOwnership: replicas dealing SCHEDULER_SHARDS out among themselves through one Redis set', function () {
  this.timeout(60_000)
  let redis: Redis
  let prefix: string
  let replicas: Replica[]

  const start = async (): Promise<Replica> => {
    const changes: number[][] = []
    const ownership = new ShardOwnership({
      redis,
      queuePrefix: prefix,
      logger: pino({ level: 'silent' }),
      shards: SHARDS,
      leaseMs: LEASE_MS,
      onChange: async (owned) => void changes.push(owned),
    })
    await ownership.start()
    const replica = { ownership, changes }
    replicas.push(replica)
    return replica
  }
  const ids = () => replicas.map((r) => r.ownership.replicaId)
  /** Every replica owns what the deal over all of them gives it. */
  const settled = () =>
    eventually(
      `${replicas.length} replicas each own their deal`,
      async () => replicas.every((r) => JSON.stringify(r.ownership.shards) === JSON.stringify(dealShards(r.ownership.replicaId, ids(), SHARDS))),
      (ok) => ok,
      20_000,
    )

  beforeEach(() => {
    redis = new Redis(process.env.REDIS_URL!)
    prefix = testQueuePrefix()
    replicas = []
  })
  afterEach(async () => {
    for (const r of replicas) await r.ownership.close()
    redis.disconnect()
  })

  it('gives four replicas four shards each, and a fifth joining takes its share while the others give up only what it takes', async () => {
    for (let i = 0; i < 4; i++) await start()
    await settled()
    for (const r of replicas) assert.equal(r.ownership.shards.length, 4)
    const before = new Map(replicas.map((r) => [r.ownership.replicaId, [...r.ownership.shards]]))
    const joined = await start()
    await settled()
    const moved = replicas
      .filter((r) => r !== joined)
      .reduce((n, r) => n + before.get(r.ownership.replicaId)!.filter((s) => !r.ownership.shards.includes(s)).length, 0)
    assert.ok(joined.ownership.shards.length === 3 || joined.ownership.shards.length === 4)
    // At least the joiner’s share moved; 5 000 random sets of ids moved 3–8 of the 16 (dealing in turn: 13.9 on average).
    assert.ok(
      moved >= joined.ownership.shards.length && moved <= 10,
      `${moved} of ${SHARDS} shards moved for a joiner taking ${joined.ownership.shards.length}`,
    )
    const union = replicas.flatMap((r) => r.ownership.shards).sort((a, b) => a - b)
    assert.deepEqual(
      union,
      Array.from({ length: SHARDS }, (_, s) => s),
      'every shard owned once',
    )
  })

  it('hands a closing replica’s shards to the others at their next beat, and tells it it owns none', async () => {
    for (let i = 0; i < 3; i++) await start()
    await settled()
    const [leaving] = replicas
    await leaving.ownership.close()
    replicas = replicas.slice(1)
    assert.deepEqual(leaving.ownership.shards, [])
    assert.deepEqual(leaving.changes[leaving.changes.length - 1], [])
    await settled()
    for (const r of replicas) assert.equal(r.ownership.shards.length, 8)
  })
})
