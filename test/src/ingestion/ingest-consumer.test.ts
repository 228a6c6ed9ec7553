import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import type { Job, Queue } from 'bullmq'
import pino from 'pino'
import { createIngestQueue, IngestBatch } from '@plugin-server/core'
import { countEvents } from '@plugin-server/db'
import { BatchResult, BatchStep, startIngestConsumer } from '@plugin-server/ingestion'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { testRoleContext } from '../harness/role-context'
import { ingestEvent } from '../db/ingest-event'

const POISON_TEAM = 66
const OTHER_POISON_TEAM = 67
const POISONED = new Set([POISON_TEAM, OTHER_POISON_TEAM])

/** Teams 66 and 67's parts of any batch fail, every time: the poison a split must route around. Counts each team's passes. */
const passes = new Map<number, number>()
const poisonStep: BatchStep = {
  name: 'poison for teams 66 and 67',
  run: async (events) => {
    const team = events[0].team_id
    passes.set(team, (passes.get(team) ?? 0) + 1)
    if (POISONED.has(team)) throw new Error(`team ${team} cannot be processed`)
    return events
  },
}

describe('startIngestConsumer: a poison team is split off', function () {
  this.timeout(60_000)
  let db: TestDatabase
  let ctx: ReturnType<typeof testRoleContext>
  let queue: Queue<IngestBatch>
  let consumer: ReturnType<typeof startIngestConsumer>
  let logLines: Record<string, unknown>[]

  beforeEach(async () => {
    db = await createTestDatabase()
    // Split after the first failure and give up after three: the backoff (1 s, 2 s) keeps this test short.
    ctx = testRoleContext('ingest-worker', { DATABASE_URL: db.url, QUEUE_PREFIX: testQueuePrefix(), INGEST_SPLIT_AFTER_ATTEMPTS: '1', INGEST_ATTEMPTS: '3' })
    logLines = []
    const sink = new Writable({ write: (chunk, _encoding, done) => (logLines.push(JSON.parse(String(chunk))), done()) })
    ctx.logger = pino({ level: 'warn' }, sink)
    queue = createIngestQueue(ctx.newRedisConnection('producer'), ctx.config)
    consumer = startIngestConsumer(ctx, [poisonStep])
  })

  afterEach(async () => {
    for (const closer of consumer.closers) await closer.close()
    await queue.close()
    await ctx.close()
    await db.drop()
  })

  const job = async (id: string) => (await queue.getJob(id)) as Job<IngestBatch, BatchResult> | undefined

  it("stores the other teams' events at the first attempt and retries only the failing team's, never running the others' steps again", async () => {
    passes.clear()
    const healthy = [ingestEvent({ team_id: 1 }), ingestEvent({ team_id: 2 }), ingestEvent({ team_id: 1 })]
    const poisoned = [ingestEvent({ team_id: POISON_TEAM }), ingestEvent({ team_id: POISON_TEAM })]
    await queue.add('batch', { events: [healthy[0], poisoned[0], healthy[1], poisoned[1], healthy[2]] }, { jobId: 'b-mixed' })

    // One team left: the normal retries with backoff, then the failed set; there is no other team to split from.
    const failed = await eventually(
      'the batch is retried and fails',
      () => job('b-mixed'),
      (j) => j?.finishedOn !== undefined,
    )
    assert.equal(failed!.attemptsMade, 3)
    assert.equal(await queue.getJobState('b-mixed'), 'failed')
    assert.deepEqual(failed!.data.events, poisoned, 'the stored teams left the job after its first attempt')
    assert.equal(await countEvents(db.pool, 1), 2)
    assert.equal(await countEvents(db.pool, 2), 1)
    assert.equal(await countEvents(db.pool, POISON_TEAM), 0)
    assert.deepEqual(Object.fromEntries(passes), { 1: 1, 2: 1, [POISON_TEAM]: 3 }, "the healthy teams' steps ran once")
    assert.equal(await job(`b-mixed-team-${POISON_TEAM}`), undefined)
    // The last attempt's line says the batch is in the failed set, not that it will be retried.
    assert.deepEqual(
      logLines.filter((l) => l.job_id === 'b-mixed' && typeof l.attempts === 'number').map((l) => [l.attempts, l.msg]),
      [
        [1, 'ingest batch failed, will retry with backoff'],
        [2, 'ingest batch failed, will retry with backoff'],
        [3, 'ingest batch failed for good'],
      ],
    )
  })

  it("moves each of several failing teams' events to a job of their own after the split's attempts, and completes the batch", async () => {
    const healthy = [ingestEvent({ team_id: 1 }), ingestEvent({ team_id: 2 })]
    const poisoned = [ingestEvent({ team_id: POISON_TEAM }), ingestEvent({ team_id: POISON_TEAM })]
    const alsoPoisoned = [ingestEvent({ team_id: OTHER_POISON_TEAM })]
    await queue.add('batch', { events: [healthy[0], poisoned[0], alsoPoisoned[0], healthy[1], poisoned[1]] }, { jobId: 'b-mixed' })

    const original = await eventually(
      'the mixed batch completes',
      () => job('b-mixed'),
      (j) => j?.finishedOn !== undefined,
    )
    assert.match(original!.failedReason, new RegExp(`team ${POISON_TEAM} \\(2 events\\): team ${POISON_TEAM} cannot be processed`), 'its first attempt failed')
    assert.deepEqual(original!.returnvalue, { received: 3, stored: 0, duplicates: 0, dropped: 0, requeued: 3 }, 'the others stored by the first attempt')
    assert.equal(await countEvents(db.pool, 1), 1)
    assert.equal(await countEvents(db.pool, 2), 1)

    for (const [team, events] of [
      [POISON_TEAM, poisoned],
      [OTHER_POISON_TEAM, alsoPoisoned],
    ] as const) {
      const split = await job(`b-mixed-team-${team}`)
      assert.ok(split, `team ${team}'s events went on as their own job`)
      assert.deepEqual(split.data.events, events)
      const logged = logLines.find((l) => l.team_id === team)
      assert.ok(logged, 'the split is logged with the team')
      assert.equal(logged.requeued_as, `b-mixed-team-${team}`)
      assert.equal(logged.err, `team ${team} cannot be processed`)
    }

    // One team only: the normal retries with backoff, then the failed set; it is never split again.
    const failed = await eventually(
      'the split job is retried and fails',
      () => job(`b-mixed-team-${POISON_TEAM}`),
      (j) => j?.finishedOn !== undefined,
    )
    assert.equal(failed!.attemptsMade, 3)
    assert.equal(await queue.getJobState(`b-mixed-team-${POISON_TEAM}`), 'failed')
    assert.equal(await job(`b-mixed-team-${POISON_TEAM}-team-${POISON_TEAM}`), undefined)
    assert.equal(await countEvents(db.pool, POISON_TEAM), 0)
  })

  it('names the hand-offs of a split-off part after the batch it came from, so the exporters tell a retry from new events', async () => {
    for (const closer of consumer.closers) await closer.close()
    ctx.registry.clear()
    const failures = new Map<number, number>()
    // Teams 66 and 67 fail twice each, then go through: their parts are split off on the batch's second attempt and stored by their own jobs.
    const flaky: BatchStep = {
      name: 'teams 66 and 67 fail twice',
      run: async (events) => {
        const team = events[0].team_id
        failures.set(team, (failures.get(team) ?? 0) + 1)
        if (POISONED.has(team) && failures.get(team)! <= 2) throw new Error(`team ${team} is not ready`)
        return events
      },
    }
    const handoffs: string[] = []
    consumer = startIngestConsumer(ctx, [flaky], [async (events, batchId) => void handoffs.push(`${batchId} team ${events[0].team_id}`)])
    await queue.add(
      'batch',
      { events: [ingestEvent({ team_id: 1 }), ingestEvent({ team_id: POISON_TEAM }), ingestEvent({ team_id: OTHER_POISON_TEAM })] },
      { jobId: 'b-flaky' },
    )
    await eventually(
      "teams 66 and 67's events stored by the split-off jobs",
      async () => (await countEvents(db.pool, POISON_TEAM)) + (await countEvents(db.pool, OTHER_POISON_TEAM)),
      (n) => n === 2,
    )
    assert.ok(await job(`b-flaky-team-${POISON_TEAM}`), 'team 66 went on as a job of its own')
    assert.deepEqual([...new Set(handoffs)].sort(), ['b-flaky team 1', `b-flaky team ${POISON_TEAM}`, `b-flaky team ${OTHER_POISON_TEAM}`])
  })

  it('fails a batch whose data Redis evicted at once, naming the job and why, instead of retrying it', async () => {
    for (const closer of consumer.closers) await closer.close()
    await queue.add('batch', { events: [ingestEvent({ team_id: 1 })] }, { jobId: 'b-evicted' })
    // What an eviction policy leaves: the id in the wait list, its hash (data and options) gone.
    await ctx.newRedisConnection('evictor').del(queue.toKey('b-evicted'))
    ctx.registry.clear()
    consumer = startIngestConsumer(ctx, [poisonStep])

    const failed = await eventually(
      'the batch fails',
      () => job('b-evicted'),
      (j) => j?.finishedOn !== undefined,
    )
    const reason = 'job b-evicted has no events: its data is gone from Redis (evicted?)'
    assert.equal(failed!.failedReason, reason)
    assert.equal(failed!.attemptsMade, 1)
    assert.equal(await queue.getJobState('b-evicted'), 'failed')
    const logged = logLines.find((l) => l.job_id === 'b-evicted')
    assert.deepEqual([logged?.msg, logged?.err], ['ingest batch failed for good', reason])
  })
})
