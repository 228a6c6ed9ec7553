import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { countEvents, createTeam } from '@plugin-server/db'
import type { IngestEvent } from '@plugin-server/core'
import { IngestPipeline, TeamBatchError, TeamBusyError, TeamGate } from '@plugin-server/ingestion'
import type { AfterStoreHook, BatchStep, IngestStage, StageObserver } from '@plugin-server/ingestion'
import { createTestDatabase, TestDatabase } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { ingestEvent } from '../db/ingest-event'

/** A promise the test settles by hand: a team whose chain takes exactly as long as the test wants. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => {}
  const wait = new Promise<void>((resolve) => (open = resolve))
  return { wait, open }
}

describe('IngestPipeline', () => {
  let db: TestDatabase
  beforeEach(async () => (db = await createTestDatabase()))
  afterEach(async () => db.drop())

  it('runs the steps in order over the whole batch, then stores what is left', async () => {
    const calls: number[] = []
    const pipeline = new IngestPipeline(db.pool, [
      { name: 'drop odd', run: async (events) => (calls.push(events.length), events.filter((e) => (e.properties.n as number) % 2 === 0)) },
      { name: 'tag', run: async (events) => (calls.push(events.length), events.map((e) => ({ ...e, properties: { ...e.properties, tagged: true } }))) },
    ])
    const result = await pipeline.process({ events: [0, 1, 2, 3].map((n) => ingestEvent({ properties: { n } })) })
    assert.deepEqual(calls, [4, 2])
    assert.deepEqual(result, { received: 4, stored: 2, duplicates: 0, dropped: 2, requeued: 0 })
    const { rows } = await db.pool.query("SELECT properties FROM events ORDER BY (properties->>'n')::int")
    assert.deepEqual(
      rows.map((r) => r.properties),
      [
        { n: 0, tagged: true, $ip: '127.0.0.1' },
        { n: 2, tagged: true, $ip: '127.0.0.1' },
      ],
    )
  })

  it('removes NUL characters Postgres cannot store instead of failing the batch', async () => {
    const pipeline = new IngestPipeline(db.pool)
    await pipeline.process({ events: [ingestEvent({ distinct_id: 'a\u0000b', properties: { 'k\u0000': 'v\u0000w' } })] })
    const { rows } = await db.pool.query('SELECT distinct_id, properties FROM events')
    assert.deepEqual(rows, [{ distinct_id: 'ab', properties: { k: 'vw', $ip: '127.0.0.1' } }])
  })

  it("stores the event's address as $ip after the steps, unless it has a $ip, has no address (or a text longer than any), or is a session recording", async () => {
    const pipeline = new IngestPipeline(db.pool)
    const events = [
      ingestEvent({ event: 'a address', ip: '203.0.113.7' }),
      ingestEvent({ event: 'b own $ip', ip: '203.0.113.7', properties: { $ip: '198.51.100.9' } }),
      ingestEvent({ event: 'c no address', ip: null }),
      ingestEvent({ event: 'd no address either', ip: 'x'.repeat(101) }),
      ingestEvent({ event: '$snapshot', ip: '203.0.113.7', properties: { $snapshot_data: {} } }),
    ]
    await pipeline.process({ events })
    const { rows } = await db.pool.query<{ event: string; ip: unknown }>("SELECT event, properties->'$ip' AS ip FROM events ORDER BY event")
    assert.deepEqual(rows, [
      { event: '$snapshot', ip: null },
      { event: 'a address', ip: '203.0.113.7' },
      { event: 'b own $ip', ip: '198.51.100.9' },
      { event: 'c no address', ip: null },
      { event: 'd no address either', ip: null },
    ])
    assert.equal(Object.hasOwn(events[0].properties, '$ip'), false, "the job's event is not changed in place")
  })

  it('stores no address for a team that anonymises IPs, also for its events queued before it did (read at most 10 s old), and keeps a $ip its client sent', async () => {
    const team = await createTeam(db.pool, 'private', undefined, { anonymizeIps: true })
    const pipeline = new IngestPipeline(db.pool)
    await pipeline.process({
      events: [
        ingestEvent({ team_id: team.id, event: 'a queued with its address', ip: '203.0.113.7' }),
        ingestEvent({ team_id: team.id, event: 'b own $ip', ip: '203.0.113.7', properties: { $ip: '198.51.100.9' } }),
        ingestEvent({ team_id: team.id + 1, event: 'c another team', ip: '203.0.113.7' }),
      ],
    })
    const { rows } = await db.pool.query<{ event: string; ip: string | null; prop: unknown }>(
      "SELECT event, ip, properties->'$ip' AS prop FROM events ORDER BY event",
    )
    assert.deepEqual(rows, [
      { event: 'a queued with its address', ip: null, prop: null },
      { event: 'b own $ip', ip: null, prop: '198.51.100.9' },
      { event: 'c another team', ip: '203.0.113.7', prop: '203.0.113.7' },
    ])
  })

  it('counts a redelivered batch as duplicates', async () => {
    const pipeline = new IngestPipeline(db.pool)
    const batch = { events: [ingestEvent(), ingestEvent()] }
    await pipeline.process(batch)
    assert.deepEqual(await pipeline.process(batch), { received: 2, stored: 0, duplicates: 2, dropped: 0, requeued: 0 })
    assert.equal(await countEvents(db.pool), 2)
  })

  it('stores one event per team and uuid: another team reusing a uuid is stored, the same team repeating it is a duplicate', async () => {
    const pipeline = new IngestPipeline(db.pool)
    const uuid = randomUUID()
    const result = await pipeline.process({ events: [ingestEvent({ uuid, team_id: 1 }), ingestEvent({ uuid, team_id: 2 }), ingestEvent({ uuid, team_id: 1 })] })
    assert.deepEqual(result, { received: 3, stored: 2, duplicates: 1, dropped: 0, requeued: 0 })
    const { rows } = await db.pool.query('SELECT team_id FROM events WHERE uuid = $1 ORDER BY team_id', [uuid])
    assert.deepEqual(rows, [{ team_id: 1 }, { team_id: 2 }])
  })

  it("stores and hands over each team's events as soon as that team's steps are done; a slow team delays only itself", async () => {
    const slow = gate()
    const handedOver: number[][] = []
    const pipeline = new IngestPipeline(
      db.pool,
      [{ name: 'slow for team 1', run: async (events) => (events[0].team_id === 1 ? (await slow.wait, events) : events) }],
      [async (events) => void handedOver.push(events.map((e) => e.team_id))],
    )
    const events = [ingestEvent({ team_id: 1 }), ingestEvent({ team_id: 2 }), ingestEvent({ team_id: 1 }), ingestEvent({ team_id: 2 })]
    let settled = false
    const processing = pipeline.process({ events }, 'b-1').finally(() => (settled = true))
    await eventually(
      'team 2 stored',
      () => countEvents(db.pool, 2),
      (n) => n === 2,
    )
    assert.deepEqual(handedOver, [[2, 2]], "team 2's events are handed over on their own")
    assert.equal(await countEvents(db.pool, 1), 0)
    assert.equal(settled, false, 'the batch is acknowledged only once every team is stored')
    slow.open()
    assert.deepEqual(await processing, { received: 4, stored: 4, duplicates: 0, dropped: 0, requeued: 0 })
    assert.deepEqual(handedOver, [
      [2, 2],
      [1, 1],
    ])
  })

  it('stores the teams that succeed and then fails naming the teams that did not, with their events', async () => {
    const failing: IngestEvent[] = [ingestEvent({ team_id: 7 }), ingestEvent({ team_id: 7 })]
    const pipeline = new IngestPipeline(db.pool, [
      {
        name: 'fails for team 7',
        run: async (events) => {
          if (events[0].team_id === 7) throw new Error('team 7 is poison')
          return events.slice(1)
        },
      },
    ])
    const error = await pipeline.process({ events: [ingestEvent({ team_id: 1 }), failing[0], ingestEvent({ team_id: 1 }), failing[1]] }).then(
      () => assert.fail('expected the batch to fail'),
      (e: unknown) => e,
    )
    assert.ok(error instanceof TeamBatchError)
    assert.match(error.message, /team 7 \(2 events\): team 7 is poison/)
    assert.deepEqual(
      error.failures.map((f) => ({ teamId: f.teamId, events: f.events, message: f.error.message })),
      [{ teamId: 7, events: failing, message: 'team 7 is poison' }],
    )
    assert.deepEqual(error.result, { received: 4, stored: 1, duplicates: 0, dropped: 1, requeued: 0 })
    assert.equal(await countEvents(db.pool, 1), 1)
    assert.equal(await countEvents(db.pool, 7), 0)
  })

  describe('batches of one team waiting for its lease (INGEST_TEAM_CONCURRENCY)', () => {
    /** A step that holds each pass whose first event is `hold` until the test opens it, and records every pass's parts' sizes. */
    function recordingStep(held: { wait: Promise<void> }): { step: BatchStep; passes: number[][] } {
      const passes: number[][] = []
      const step: BatchStep = {
        name: 'drops "drop" events',
        run: async (events) => (await step.runParts!([events]))[0],
        runParts: async (parts) => {
          passes.push(parts.map((p) => p.length))
          if (parts[0][0]?.properties.hold) await held.wait
          return parts.map((events) => events.filter((e) => !e.properties.drop))
        },
      }
      return { step, passes }
    }
    const batchOf = (teamId: number, events: number, properties: Record<string, unknown> = {}) => ({
      events: Array.from({ length: events }, (_, i) =>
        ingestEvent({ team_id: teamId, properties: { ...properties, i, drop: i === 0 && properties.dropFirst === true } }),
      ),
    })

    /** A pipeline whose team 1 has one slot, held by a first batch until the test opens `held`. */
    async function leaseHeld(afterStore: AfterStoreHook[] = [], observe?: StageObserver) {
      const held = gate()
      const { step, passes } = recordingStep(held)
      const pipeline = new IngestPipeline(db.pool, [step], afterStore, observe)
      const admission = { gate: new TeamGate(1, 60_000), defer: async () => assert.fail('a batch of one team is never deferred') }
      const first = pipeline.process(batchOf(1, 3, { hold: true }), 'b-1', admission)
      await eventually(
        'the first batch holding the lease',
        async () => passes.length,
        (n) => n === 1,
      )
      return { held, passes, pipeline, admission, first }
    }

    it('run through the steps as one pass when the lease comes, and are each stored and answered on their own', async () => {
      const { held, passes, pipeline, admission, first } = await leaseHeld()
      const waiting = [pipeline.process(batchOf(1, 4, { dropFirst: true }), 'b-2', admission), pipeline.process(batchOf(1, 5), 'b-3', admission)]
      // Another team has its own lease: it never waits for team 1's group.
      assert.deepEqual(await pipeline.process(batchOf(2, 2), 'b-4', admission), { received: 2, stored: 2, duplicates: 0, dropped: 0, requeued: 0 })
      held.open()
      assert.deepEqual(await first, { received: 3, stored: 3, duplicates: 0, dropped: 0, requeued: 0 })
      assert.deepEqual(await Promise.all(waiting), [
        { received: 4, stored: 3, duplicates: 0, dropped: 1, requeued: 0 },
        { received: 5, stored: 5, duplicates: 0, dropped: 0, requeued: 0 },
      ])
      assert.deepEqual(passes, [[3], [2], [4, 5]], 'the two waiting batches of team 1 went through the step in one pass')
      assert.equal(await countEvents(db.pool, 1), 11)
    })

    it("tell the stage observer each batch's wait for the lease, each pass through the steps and each stored part", async () => {
      const seen: { stage: IngestStage; seconds: number }[] = []
      const { held, pipeline, admission, first } = await leaseHeld([], (stage, seconds) => seen.push({ stage, seconds }))
      const waiting = [pipeline.process(batchOf(1, 2), 'b-2', admission), pipeline.process(batchOf(1, 2), 'b-3', admission)]
      const joined = performance.now()
      // Team 2 is stored meanwhile: time passes while team 1's batches wait and its first is held.
      await pipeline.process(batchOf(2, 2), 'b-4', admission)
      const heldFor = (performance.now() - joined) / 1000
      held.open()
      await Promise.all([first, ...waiting])
      const of = (stage: IngestStage) => seen.filter((s) => s.stage === stage).map((s) => s.seconds)
      const waits = of('wait')
      assert.equal(waits.length, 4, 'one wait per batch')
      assert.equal(waits.filter((w) => w === 0).length, 2, 'b-1 and b-4 had a free slot')
      for (const w of waits.filter((w) => w > 0)) assert.ok(w >= heldFor, `a waiting batch waited ${w} s, at least ${heldFor} s expected`)
      const steps = of('steps')
      assert.equal(steps.length, 3, "b-1's pass, b-4's pass and the waiting group's one pass")
      assert.ok(Math.max(...steps) >= heldFor, "b-1's pass lasted as long as it was held")
      const stores = of('store')
      assert.equal(stores.length, 4, 'each batch stored on its own')
      assert.ok(stores.every((s) => s > 0))
    })

    it('wait in groups of at most 200 events, a capture batch at most', async () => {
      const { held, passes, pipeline, admission, first } = await leaseHeld()
      const waiting = [120, 80, 30].map((n, i) => pipeline.process(batchOf(1, n), `b-${i + 2}`, admission))
      held.open()
      await Promise.all([first, ...waiting])
      assert.deepEqual(passes, [[3], [120, 80], [30]])
    })

    it("fail or are turned away each as its own batch: a member's store failing fails only that batch; a stuck team turns the whole group away", async () => {
      const { held, pipeline, admission, first } = await leaseHeld([
        async (_events, batchId) => void (batchId === 'b-2' && assert.fail('the hand-over of b-2 fails')),
      ])
      const failing = pipeline.process(batchOf(1, 2), 'b-2', admission).then(
        () => assert.fail('expected b-2 to fail'),
        (e: unknown) => e,
      )
      const fine = pipeline.process(batchOf(1, 2), 'b-3', admission)
      held.open()
      await first
      const error = await failing
      assert.ok(error instanceof TeamBatchError && /the hand-over of b-2 fails/.test(error.message), String(error))
      assert.deepEqual(await fine, { received: 2, stored: 2, duplicates: 0, dropped: 0, requeued: 0 })

      // A team whose running part is older than the wait: every waiting batch of it is turned away.
      const stuck = gate()
      const stuckPipeline = new IngestPipeline(db.pool, [recordingStep(stuck).step])
      const stuckAdmission = { gate: new TeamGate(1, 50), defer: async () => assert.fail('never deferred') }
      const holding = stuckPipeline.process(batchOf(5, 1, { hold: true }), 'b-5', stuckAdmission)
      const turnedAway = await Promise.all(
        [1, 2].map((n) =>
          stuckPipeline.process(batchOf(5, n), `b-${5 + n}`, stuckAdmission).then(
            () => 'stored',
            (e: unknown) => e,
          ),
        ),
      )
      assert.ok(
        turnedAway.every((e) => e instanceof TeamBusyError),
        String(turnedAway),
      )
      stuck.open()
      await holding
    })

    it("give the team's lease back once the steps are done: the team's next batches run while one is still being stored", async () => {
      const stored = gate()
      const { step, passes } = recordingStep(gate())
      const handedOver: string[] = []
      const holdB1: AfterStoreHook = async (_events, batchId) => {
        if (batchId.startsWith('b-1')) await stored.wait
        handedOver.push(batchId)
      }
      const pipeline = new IngestPipeline(db.pool, [step], [holdB1])
      const admission = { gate: new TeamGate(1, 60_000), defer: async () => assert.fail('never deferred') }
      // A batch of team 1 alone, and one of teams 1 and 2: each is held in its store's hand-over.
      const alone = pipeline.process(batchOf(1, 2), 'b-1a', admission)
      await eventually(
        'b-1a in its hand-over',
        async () => passes.length,
        (n) => n === 1,
      )
      const mixed = pipeline.process({ events: [...batchOf(1, 2).events, ...batchOf(2, 2).events] }, 'b-1b', admission)
      await eventually(
        'b-1b in its hand-over',
        async () => passes.length,
        (n) => n === 3,
      )
      // With one slot for team 1, these would wait for both held batches if the store held the lease.
      assert.deepEqual(await pipeline.process(batchOf(1, 3), 'b-2', admission), { received: 3, stored: 3, duplicates: 0, dropped: 0, requeued: 0 })
      assert.deepEqual(await pipeline.process(batchOf(1, 1), 'b-3', admission), { received: 1, stored: 1, duplicates: 0, dropped: 0, requeued: 0 })
      assert.deepEqual(handedOver, ['b-2', 'b-3'])
      stored.open()
      await Promise.all([alone, mixed])
      assert.equal(await countEvents(db.pool, 1), 8)
    })
  })
})
