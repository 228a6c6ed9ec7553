import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import Redis from 'ioredis'
import type { Queue } from 'bullmq'
import { createQueue, QUEUES } from '@plugin-server/core'
import { createTeam, Team } from '@plugin-server/db'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { runCli } from '../harness/processes'

/** Something personal in every event: the listing must never show it. */
const PERSONAL = 'jane.doe@example.com'
const REFUSAL = 'the test refuses to store events'

interface Listing {
  queue: string
  failed: number
  newest: { jobId: string; teams: number[]; events: number; attempts: number; failedAt: string; reason: string }[]
}

describe('plugin-server queue failed|retry-failed (CLI, real capture and ingest-worker)', function () {
  this.timeout(180_000)
  let fleet: TestFleet
  let other: Team
  let redis: Redis
  let ingest: Queue

  const cli = (...args: string[]) => runCli(['--json', 'queue', ...args], { ...fleet.env, LOG_LEVEL: 'warn' })
  const failedCount = () => ingest.getFailedCount()
  const refuseInserts = async (on: boolean) => {
    if (on) {
      await fleet.db.pool.query(`CREATE OR REPLACE FUNCTION refuse_events() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${REFUSAL}'; END $$`)
      await fleet.db.pool.query('CREATE TRIGGER refuse_events BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_events()')
    } else await fleet.db.pool.query('DROP TRIGGER refuse_events ON events')
  }
  const stored = async (team: Team) => {
    const { rows } = await fleet.db.pool.query<{ uuid: string; n: number }>(
      'SELECT uuid::text, count(*)::int AS n FROM events WHERE team_id = $1 GROUP BY uuid ORDER BY uuid',
      [team.id],
    )
    return rows
  }
  const capture = async (team: Team, uuids: string[]) => {
    const batch = uuids.map((uuid) => ({ event: 'signed up', distinct_id: PERSONAL, uuid, properties: { email: PERSONAL } }))
    const res = await fetch(`${fleet.captureUrl}/batch/`, { method: 'POST', body: JSON.stringify({ api_key: team.api_token, batch }) })
    assert.equal(res.status, 200, await res.text())
  }

  before(async () => {
    // Two attempts, so a batch runs out of them within seconds.
    fleet = await createTestFleet({ INGEST_ATTEMPTS: '2' })
    other = await createTeam(fleet.db.pool, 'other team')
    redis = new Redis(process.env.REDIS_URL!)
    ingest = createQueue(QUEUES.ingest, redis, fleet.env.QUEUE_PREFIX)
    await fleet.start('capture')
    await fleet.start('ingest-worker')
  })
  after(async () => {
    await ingest?.close()
    redis?.disconnect()
    await fleet?.close()
  })

  it('names the queues it knows when given another', async () => {
    for (const command of ['failed', 'retry-failed']) {
      const result = await cli(command, 'scheduled')
      assert.equal(result.code, 1)
      assert.match(result.stderr, /unknown queue "scheduled": one of ingest, export, export-deliveries/)
    }
  })

  it("lists batches Postgres refused for all their attempts without their events, retries one team's, then the rest, each event stored once", async () => {
    const stored1 = [randomUUID(), randomUUID()]
    await capture(fleet.team, stored1)
    await eventually(
      'the first batch stored',
      () => stored(fleet.team),
      (rows) => rows.length === 2,
    )

    await refuseInserts(true)
    // One of the team's events is stored already: the retried batch must not store it twice.
    const teamBatch = [stored1[1], randomUUID(), randomUUID()]
    await capture(fleet.team, teamBatch)
    await eventually('the team batch failed for good', failedCount, (n) => n === 1)
    const otherBatch = [randomUUID(), randomUUID()]
    await capture(other, otherBatch)
    await eventually("the other team's batch failed for good", failedCount, (n) => n === 2)

    const listed = await cli('failed', 'ingest', '--newest', '5')
    assert.equal(listed.code, 0, listed.stderr)
    assert.ok(!listed.stdout.includes(PERSONAL), 'no event contents in the listing')
    assert.ok(!teamBatch.some((uuid) => listed.stdout.includes(uuid)), 'no event uuids in the listing')
    const listing = JSON.parse(listed.stdout) as Listing
    assert.equal(listing.failed, 2)
    assert.deepEqual(
      listing.newest.map((j) => [j.teams, j.events, j.attempts]),
      [
        [[other.id], 2, 2],
        [[fleet.team.id], 3, 2],
      ],
    )
    for (const job of listing.newest) assert.match(job.reason, new RegExp(REFUSAL))

    await refuseInserts(false)
    const teamRetry = await cli('retry-failed', 'ingest', '--team', String(fleet.team.id))
    assert.equal(teamRetry.code, 0, teamRetry.stderr)
    assert.deepEqual(JSON.parse(teamRetry.stdout), {
      queue: 'ingest',
      retried: 1,
      jobIds: [listing.newest[1].jobId],
      mixed: [],
      remaining: 1,
    })
    const teamRows = await eventually(
      'the team batch stored',
      () => stored(fleet.team),
      (rows) => rows.length === 4,
    )
    assert.deepEqual(teamRows.map((r) => r.uuid).sort(), [...new Set([...stored1, ...teamBatch])].sort())
    assert.ok(
      teamRows.every((r) => r.n === 1),
      'every event of the team once',
    )
    assert.deepEqual(await stored(other), [], "the other team's batch was left failed")
    assert.equal(await failedCount(), 1)

    const rest = await cli('retry-failed', 'ingest')
    assert.equal(rest.code, 0, rest.stderr)
    assert.equal((JSON.parse(rest.stdout) as { retried: number }).retried, 1)
    const otherRows = await eventually(
      "the other team's batch stored",
      () => stored(other),
      (rows) => rows.length === 2,
    )
    assert.ok(
      otherRows.every((r) => r.n === 1),
      'every event of the other team once',
    )
    await eventually('the failed set is empty', failedCount, (n) => n === 0)
    assert.deepEqual(JSON.parse((await cli('failed', 'ingest')).stdout), { queue: 'ingest', failed: 0, newest: [] })
  })
})
