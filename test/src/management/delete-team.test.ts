import assert from 'node:assert/strict'
import { deleteTeamEvents } from '@plugin-server/db'
import { cleanDeletedConfigs, cleanDeletedTeams, deleteTeam, DeleteTeamResult } from '@plugin-server/management'
import { RedisPluginCache, TeamRedisAccount } from '@plugin-server/plugin-runtime'
import { ingestEvent } from '../db/ingest-event'
import { runCli } from '../harness/processes'
import { DeliveryQueue, ExportBuffer, exportKeys } from '@plugin-server/export'
import { toProcessedEvent } from '@plugin-server/plugin-runtime'
import { cliEnv, createTeamRow, ManagementHarness, startManagement } from './management-fixture'
import { fillTeam, FilledTeam, fleetTotals, teamRedisKeys, teamRows } from './team-data'

const MiB = 1024 * 1024
const GONE = { teams: 0, configs: 0, tokens: 0, events: 0, event_partitions: 0, log_rows: 0 }
const FULL = { teams: 1, configs: 1, tokens: 1, events: 6, event_partitions: 2, log_rows: 2 }

describe('Deleting a team', function () {
  this.timeout(120_000)
  let h: ManagementHarness
  let acme: FilledTeam
  let other: FilledTeam
  let otherRedis: { keys: string[]; bytes: number; cache: number }

  beforeEach(async () => {
    h = await startManagement()
    acme = await fillTeam(h.db.pool, h.ctx.redis, h.ctx.queuePrefix, await createTeamRow(h, 'acme'))
    other = await fillTeam(h.db.pool, h.ctx.redis, h.ctx.queuePrefix, await createTeamRow(h, 'other'))
    // A key of the other team's whose name the glob for acme's cache keys (`cache:*:<acme>:*`) matches too.
    await new RedisPluginCache(h.ctx.redis, h.ctx.queuePrefix, other.pluginId, new TeamRedisAccount(h.ctx.redis, h.ctx.queuePrefix, other.teamId, MiB)).set(
      `of:${acme.teamId}:too`,
      'y',
    )
    otherRedis = {
      keys: await teamRedisKeys(h.ctx.redis, h.ctx.queuePrefix, other),
      bytes: await accountBytes(other.teamId),
      cache: (await h.ctx.redis.keys(`${h.ctx.queuePrefix}:cache:${other.pluginId}:${other.teamId}:*`)).length,
    }
    assert.equal(otherRedis.cache, 2)
  })
  afterEach(() => h.close())

  const env = () => cliEnv(h)
  const accountBytes = async (teamId: number) => Number((await h.ctx.redis.get(`${h.ctx.queuePrefix}:redis-account:${teamId}:total`)) ?? 0)

  /** The team has nothing left anywhere, and the other team all it had, the fleet's totals now its alone. */
  const assertOnlyOtherLeft = async () => {
    assert.deepEqual(await teamRows(h.db.pool, acme.teamId), GONE)
    assert.deepEqual(await teamRedisKeys(h.ctx.redis, h.ctx.queuePrefix, acme), [])
    assert.deepEqual(await teamRows(h.db.pool, other.teamId), FULL)
    assert.deepEqual(await teamRedisKeys(h.ctx.redis, h.ctx.queuePrefix, other), otherRedis.keys)
    assert.equal(await accountBytes(other.teamId), otherRedis.bytes)
    assert.deepEqual(await fleetTotals(h.ctx.redis, h.ctx.queuePrefix), { redis_bytes: otherRedis.bytes, pending_events: 12, pending_jobs: 1 })
  }

  it('with --force deletes its configs, tokens, events of every partition, log rows and Redis keys, giving the fleet total back exactly what it held, and prints what went', async () => {
    assert.deepEqual(await teamRows(h.db.pool, acme.teamId), FULL)
    // Bytes the team's total counts and no key of its holds (a size it kept after the key went): given back too.
    await h.ctx.redis.incrby(`${h.ctx.queuePrefix}:redis-account:${acme.teamId}:total`, 1000)
    await h.ctx.redis.incrby(`${h.ctx.queuePrefix}:redis-account:fleet-total`, 1000)
    const held = await accountBytes(acme.teamId)
    assert.ok(held > 50_000, `acme holds ${held} bytes`)

    const result = await runCli(['team', 'delete', String(acme.teamId), '--force', '--json'], env())

    assert.equal(result.code, 0, result.stderr)
    assert.deepEqual(JSON.parse(result.stdout) as DeleteTeamResult, {
      id: acme.teamId,
      name: 'acme',
      deleted: true,
      already_deleted: false,
      deleted_configs: [acme.configId],
      deleted_tokens: 1,
      deleted_events: 6,
      deleted_log_rows: 2,
      redis_bytes_freed: held,
    })
    await assertOnlyOtherLeft()
  })

  it('without --force is refused, saying how many configs and events the team has and how to force it, and deletes nothing', async () => {
    const result = await runCli(['team', 'delete', String(acme.teamId)], env())

    assert.equal(result.code, 1)
    assert.match(
      result.stderr,
      new RegExp(`team ${acme.teamId} \\("acme"\\) has 1 plugin config\\(s\\) \\(${acme.configId}\\) and 6 stored event\\(s\\); .*pass --force`),
    )
    assert.deepEqual(await teamRows(h.db.pool, acme.teamId), FULL)
  })

  it('of a team id no team has exits 1 naming it', async () => {
    const result = await runCli(['team', 'delete', '999999', '--force'], env())
    assert.equal(result.code, 1)
    assert.match(result.stderr, /team 999999 not found/)
  })

  it("deleted in SQL, or stopped once its row went, is finished by the scheduler's pass", async () => {
    await h.db.pool.query('DELETE FROM teams WHERE id = $1', [acme.teamId])
    assert.equal((await teamRows(h.db.pool, acme.teamId)).events, 6, 'events have no foreign key')

    // What the scheduler's pass (libs/scheduling deleted-config-cleanup.ts) runs, in its order.
    await cleanDeletedConfigs(h.ctx)
    const done = await cleanDeletedTeams(h.ctx)

    assert.deepEqual({ teams: done.teams, events: done.events, log_rows: done.log_rows }, { teams: 1, events: 6, log_rows: 2 })

    await assertOnlyOtherLeft()
  })

  it('deleted in SQL is finished by deleting it again, which says it was already deleted', async () => {
    await h.db.pool.query('DELETE FROM teams WHERE id = $1', [acme.teamId])

    const result = await deleteTeam(h.ctx, acme.teamId, { force: true })

    assert.equal(result.already_deleted, true)
    assert.equal(result.deleted_events, 6)
    assert.equal(result.deleted_log_rows, 2)
    await assertOnlyOtherLeft()
  })

  it('deletes its events a bounded batch per statement, partition by partition', async () => {
    await h.db.pool.query('DELETE FROM teams WHERE id = $1', [acme.teamId])
    const batches: number[] = []

    assert.equal(await deleteTeamEvents(h.db.pool, acme.teamId, 2, (n) => batches.push(n)), 6)

    // 3 events in each of two partitions: 2 and 1 in each.
    assert.deepEqual(batches, [2, 1, 2, 1])
    assert.equal((await teamRows(h.db.pool, other.teamId)).events, 6)
  })
  it("gives back, once, what its configs' export buffers counted, also events an exporter that had not reloaded buffered after a config's cleanup", async () => {
    const k = exportKeys(h.ctx.queuePrefix)
    const deliveries = new DeliveryQueue(h.ctx.redis, h.ctx.queuePrefix)
    const buffer = new ExportBuffer(h.ctx.redis, h.ctx.queuePrefix, deliveries)
    const buffered = async () => Number((await h.ctx.redis.get(k.fleetBufferedEvents())) ?? 0)
    const events = (teamId: number, n: number) => Array.from({ length: n }, () => toProcessedEvent(ingestEvent({ team_id: teamId })))
    // The other team's 10 buffered events must stay counted whatever happens to acme's.
    await buffer.append(other.configId, 'other-1', events(other.teamId, 10))
    await h.db.pool.query('DELETE FROM teams WHERE id = $1', [acme.teamId])
    await cleanDeletedConfigs(h.ctx, { ids: [acme.configId] })
    await buffer.append(acme.configId, 'acme-late', events(acme.teamId, 5))
    assert.equal(await buffered(), 15)

    await cleanDeletedTeams(h.ctx, { ids: [acme.teamId] })
    assert.equal(await buffered(), 10, "after the team's cleanup")
    await cleanDeletedConfigs(h.ctx, { graceMs: 0 })
    await cleanDeletedTeams(h.ctx, { graceMs: 0 })

    assert.equal(await buffered(), 10, 'after the last cleanups')
    await deliveries.close()
  })
})
