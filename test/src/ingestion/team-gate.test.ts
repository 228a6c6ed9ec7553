import assert from 'node:assert/strict'
import type { Queue } from 'bullmq'
import { createIngestQueue, IngestBatch } from '@plugin-server/core'
import { countEvents } from '@plugin-server/db'
import { BatchStep, startIngestConsumer, TeamGate } from '@plugin-server/ingestion'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { testRoleContext } from '../harness/role-context'
import { ingestEvent } from '../db/ingest-event'

describe('TeamGate', () => {
  it('leases up to its cap per team, and other teams are not counted against it', () => {
    const gate = new TeamGate(2, 1000)
    const a1 = gate.tryEnter(1)
    const a2 = gate.tryEnter(1)
    assert.ok(a1 && a2)
    assert.equal(gate.tryEnter(1), undefined, 'a third part of team 1 is turned away')
    assert.ok(gate.tryEnter(2), 'team 2 has its own cap')
    a1()
    a1()
    assert.equal(gate.running(1), 1, 'releasing twice gives back one lease')
    assert.ok(gate.tryEnter(1))
  })

  it('lets a waiting part in when a lease of its team is released', async () => {
    const gate = new TeamGate(1, 60_000)
    const first = gate.tryEnter(7)!
    const waiting = gate.enter(7)
    first()
    const second = await waiting
    assert.ok(second)
    assert.equal(gate.running(7), 1)
  })

  it("turns a part away at once when its team's oldest running part is older than the wait", async () => {
    let now = 0
    const gate = new TeamGate(1, 1000, () => now)
    gate.tryEnter(7)
    now = 1000
    assert.equal(await gate.enter(7), undefined)
  })

  it('turns a waiting part away when the wait runs out', async () => {
    const gate = new TeamGate(1, 50)
    gate.tryEnter(7)
    assert.equal(await gate.enter(7), undefined)
  })
})

const STUCK_TEAM = 77

describe('startIngestConsumer: a team whose plugins are stuck', function () {
  this.timeout(60_000)
  let db: TestDatabase
  let ctx: ReturnType<typeof testRoleContext>
  let queue: Queue<IngestBatch>
  let consumer: ReturnType<typeof startIngestConsumer>
  let unstick: () => void
  let stuckRunning = 0
  let stuckMostAtOnce = 0

  /** Team 77's parts wait until the test unsticks them; everyone else's pass straight through. */
  const stuckStep: BatchStep = {
    name: 'stuck for team 77',
    run: async (events) => {
      if (events[0].team_id !== STUCK_TEAM) return events
      stuckMostAtOnce = Math.max(stuckMostAtOnce, ++stuckRunning)
      await stuck
      stuckRunning--
      return events
    },
  }
  let stuck: Promise<void>

  before(async () => {
    db = await createTestDatabase()
    stuck = new Promise((resolve) => (unstick = resolve))
    ctx = testRoleContext('ingest-worker', {
      DATABASE_URL: db.url,
      QUEUE_PREFIX: testQueuePrefix(),
      INGEST_CONCURRENCY: '4',
      INGEST_TEAM_CONCURRENCY: '2',
      INGEST_TEAM_WAIT_MS: '200',
    })
    queue = createIngestQueue(ctx.newRedisConnection('producer'), ctx.config)
    consumer = startIngestConsumer(ctx, [stuckStep])
  })

  after(async () => {
    unstick()
    for (const closer of consumer.closers) await closer.close()
    await queue.close()
    await ctx.close()
    await db.drop()
  })

  it("holds at most INGEST_TEAM_CONCURRENCY slots: the other teams' batches are all stored meanwhile, and its own once it recovers", async () => {
    const batches = Array.from({ length: 12 }, (_, i) => ({
      events:
        i % 3 === 2 ? [ingestEvent({ team_id: STUCK_TEAM })] : [ingestEvent({ team_id: 1 }), ingestEvent({ team_id: STUCK_TEAM }), ingestEvent({ team_id: 2 })],
    }))
    await queue.addBulk(batches.map((data, i) => ({ name: 'batch', data, opts: { jobId: `b-${i}` } })))

    await eventually(
      "the other teams' events are stored while team 77 is stuck",
      async () => (await countEvents(db.pool, 1)) + (await countEvents(db.pool, 2)),
      (n) => n === 16,
    )
    assert.equal(await countEvents(db.pool, STUCK_TEAM), 0)
    assert.equal(stuckMostAtOnce, 2, 'team 77 never ran more than two parts at once')

    unstick()
    await eventually(
      "team 77's events are stored once it recovers",
      () => countEvents(db.pool, STUCK_TEAM),
      (n) => n === 12,
    )
    await eventually(
      'every job completes',
      async () => (await queue.getJobCounts('completed', 'failed', 'delayed', 'waiting', 'active')) as Record<string, number>,
      (c) => c.failed === 0 && c.delayed === 0 && c.waiting === 0 && c.active === 0,
    )
    assert.equal(stuckMostAtOnce, 2)
    assert.equal(await countEvents(db.pool), 28, 'every event stored exactly once')
  })
})
