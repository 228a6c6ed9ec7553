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

/** Team 66's part of any batch fails, every time: the poison a split must route around. */
const poisonStep: BatchStep = {
  name: 'poison for team 66',
  run: async (events) => {
    if (events.some((e) => e.team_id === POISON_TEAM)) throw new Error(`team ${POISON_TEAM} cannot be processed`)
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

  it("stores the other teams' events, moves the failing team's events to a job of their own, and completes the batch", async () => {
    const healthy = [ingestEvent({ team_id: 1 }), ingestEvent({ team_id: 2 }), ingestEvent({ team_id: 1 })]
    const poisoned = [ingestEvent({ team_id: POISON_TEAM }), ingestEvent({ team_id: POISON_TEAM })]
    await queue.add('batch', { events: [healthy[0], poisoned[0], healthy[1], poisoned[1], healthy[2]] }, { jobId: 'b-mixed' })

    const original = await eventually(
      'the mixed batch completes',
      () => job('b-mixed'),
      (j) => j?.finishedOn !== undefined,
    )
    assert.equal(original!.failedReason, `team ${POISON_TEAM} (2 events): team ${POISON_TEAM} cannot be processed`, 'its first attempt failed')
    assert.deepEqual(original!.returnvalue, { received: 5, stored: 0, duplicates: 3, dropped: 0, requeued: 2 }, 'stored by the first attempt already')
    assert.equal(await countEvents(db.pool, 1), 2)
    assert.equal(await countEvents(db.pool, 2), 1)

    const split = await job(`b-mixed-team-${POISON_TEAM}`)
    assert.ok(split, "the poison team's events went on as their own job")
    assert.deepEqual(split.data.events, poisoned)
    const logged = logLines.find((l) => l.team_id === POISON_TEAM)
    assert.ok(logged, 'the split is logged with the team')
    assert.equal(logged.requeued_as, `b-mixed-team-${POISON_TEAM}`)
    assert.equal(logged.err, `team ${POISON_TEAM} cannot be processed`)

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
    let failures = 0
    // Team 66 fails twice, then goes through: its part is split off on the batch's second attempt and stored by its own job.
    const flaky: BatchStep = {
      name: 'team 66 fails twice',
      run: async (events) => {
        if (events.some((e) => e.team_id === POISON_TEAM) && failures++ < 2) throw new Error(`team ${POISON_TEAM} is not ready`)
        return events
      },
    }
    const handoffs: string[] = []
    consumer = startIngestConsumer(ctx, [flaky], [async (events, batchId) => void handoffs.push(`${batchId} team ${events[0].team_id}`)])
    await queue.add('batch', { events: [ingestEvent({ team_id: 1 }), ingestEvent({ team_id: POISON_TEAM })] }, { jobId: 'b-flaky' })
    await eventually(
      "team 66's events stored by the split-off job",
      () => countEvents(db.pool, POISON_TEAM),
      (n) => n === 1,
    )
    assert.ok(await job(`b-flaky-team-${POISON_TEAM}`), 'team 66 went on as a job of its own')
    assert.deepEqual([...new Set(handoffs)].sort(), ['b-flaky team 1', `b-flaky team ${POISON_TEAM}`])
  })
})
