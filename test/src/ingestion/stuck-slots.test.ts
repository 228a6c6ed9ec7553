import assert from 'node:assert/strict'
import type { Queue } from 'bullmq'
import { createIngestQueue, IngestBatch } from '@plugin-server/core'
import { countEvents } from '@plugin-server/db'
import { BatchStep, startIngestConsumer } from '@plugin-server/ingestion'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { testRoleContext } from '../harness/role-context'
import { ingestEvent } from '../db/ingest-event'

const HEALTHY_TEAM = 1
const STUCK_TEAMS = [77, 78, 79, 80]

describe('startIngestConsumer: several teams whose plugins are stuck at once (INGEST_STUCK_EXTRA_SLOTS)', function () {
  this.timeout(60_000)
  let db: TestDatabase
  let ctx: ReturnType<typeof testRoleContext>
  let queue: Queue<IngestBatch>
  let consumer: ReturnType<typeof startIngestConsumer>
  let unstick: () => void
  let stuck: Promise<void>
  let stuckRunning = 0
  let mostRunning = 0
  let running = 0

  /** The stuck teams' parts wait until the test unsticks them (a plugin awaiting a fetch that never answers); the healthy team's pass straight through. */
  const step: BatchStep = {
    name: 'stuck for teams 77 to 80',
    run: async (events) => {
      mostRunning = Math.max(mostRunning, ++running)
      try {
        if (!STUCK_TEAMS.includes(events[0].team_id)) return events
        stuckRunning++
        await stuck
        stuckRunning--
        return events
      } finally {
        running--
      }
    },
  }

  const start = (env: Record<string, string>) => {
    stuck = new Promise((resolve) => (unstick = resolve))
    ctx = testRoleContext('ingest-worker', {
      DATABASE_URL: db.url,
      QUEUE_PREFIX: testQueuePrefix(),
      INGEST_CONCURRENCY: '4',
      INGEST_TEAM_CONCURRENCY: '2',
      INGEST_TEAM_WAIT_MS: '200',
      ...env,
    })
    queue = createIngestQueue(ctx.newRedisConnection('producer'), ctx.config)
    consumer = startIngestConsumer(ctx, [step])
  }
  const send = (teamId: number, batches: number) =>
    queue.addBulk(
      Array.from({ length: batches }, (_, i) => ({ name: 'batch', data: { events: [ingestEvent({ team_id: teamId })] }, opts: { jobId: `t${teamId}-${i}` } })),
    )

  beforeEach(async () => {
    db = await createTestDatabase()
    stuckRunning = mostRunning = running = 0
  })

  afterEach(async () => {
    unstick()
    for (const closer of consumer.closers) await closer.close()
    await queue.close()
    await ctx.close()
    await db.drop()
  })

  it("stores a third team's events while two teams' plugins hang, each team holding its INGEST_TEAM_CONCURRENCY share of the slots", async () => {
    start({})
    await send(77, 3)
    await send(78, 3)
    await eventually(
      'teams 77 and 78 hold every one of the 4 slots',
      async () => stuckRunning,
      (n) => n === 4,
    )
    const sent = Date.now()
    await send(HEALTHY_TEAM, 3)
    await eventually(
      "team 1's events are stored",
      () => countEvents(db.pool, HEALTHY_TEAM),
      (n) => n === 3,
    )
    const waited = Date.now() - sent
    assert.equal(stuckRunning, 4, `teams 77 and 78 still hang: team 1's events did not wait for them (stored ${waited} ms after they were sent)`)
    // Each stuck batch stops counting INGEST_TEAM_WAIT_MS after it started, and the four did not start together:
    // on a busy machine team 1's three batches can be stored in the three slots lent before the fourth is.
    await eventually(
      'each stuck batch stopped counting against INGEST_CONCURRENCY',
      async () => consumer.worker.concurrency,
      (n) => n === 8,
    )

    unstick()
    await eventually(
      "teams 77 and 78's events are stored once their plugins answer",
      async () => (await countEvents(db.pool, 77)) + (await countEvents(db.pool, 78)),
      (n) => n === 6,
    )
    await eventually(
      'the extra slots are given back',
      async () => consumer.worker.concurrency,
      (n) => n === 4,
    )
  })

  it("turns a stuck team's batch away for longer each time it finds the team so: INGEST_TEAM_WAIT_MS, doubling, at most eight times it", async () => {
    start({})
    await send(77, 3)
    const [waiting] = await eventually(
      'the third batch turned away a third time',
      // Read while delayed: a job promoted meanwhile reads delay 0.
      async () => (await queue.getJobs(['delayed'])).filter((job) => job.attemptsStarted >= 3 && job.delay > 0),
      (jobs) => jobs.length === 1,
    )
    // Its third time: 800 ms (200 doubled twice), give or take a quarter; at a fixed delay it was back every 200 ms.
    assert.ok(waiting.delay >= 600 && waiting.delay <= Math.min(1000 * 2 ** (waiting.attemptsStarted - 3), 2000), `put back for ${waiting.delay} ms`)
    assert.equal(stuckRunning, 2)
  })

  it('runs at most INGEST_CONCURRENCY + INGEST_STUCK_EXTRA_SLOTS batches however many teams are stuck, and gives the extra slots back as they finish', async () => {
    start({ INGEST_STUCK_EXTRA_SLOTS: '2' })
    for (const team of STUCK_TEAMS) await send(team, 3)
    await eventually(
      'the stuck teams hold 4 slots and the 2 extra ones',
      async () => ({ stuckRunning, concurrency: consumer.worker.concurrency }),
      (s) => s.stuckRunning === 6 && s.concurrency === 6,
    )
    // Every running batch stuck (older than the teams' wait, twice over): none of them counts against the 4 slots any more.
    await eventually(
      'the 6 running batches are all stuck',
      async () => (await queue.getActive()).map((job) => Date.now() - (job.processedOn ?? Date.now())),
      (ages) => ages.length === 6 && ages.every((age) => age > 400),
    )
    const counts = await queue.getJobCounts('active', 'delayed', 'waiting')
    assert.equal(counts.active, 6)
    assert.equal(counts.delayed + counts.waiting, 6, "the stuck teams' other batches wait in the queue, not in a slot")
    assert.equal(mostRunning, 6, 'never more than 4 + 2 batches at once')
    assert.equal(consumer.worker.concurrency, 6)

    unstick()
    await eventually(
      "every stuck team's events are stored once their plugins answer",
      () => countEvents(db.pool),
      (n) => n === 12,
    )
    await eventually(
      'the extra slots are given back',
      async () => consumer.worker.concurrency,
      (n) => n === 4,
    )
    assert.ok(mostRunning <= 6, `never more than 4 + 2 batches at once (saw ${mostRunning})`)
  })
})
