import assert from 'node:assert/strict'
import { createTeam } from '@plugin-server/db'
import { busyConfigDelayMs, DeliveryJobData, DELIVERIES_QUEUE, listDeadLetters } from '@plugin-server/export'
import { Queue } from 'bullmq'
import fs from 'node:fs'
import path from 'node:path'
import { eventually } from '../harness/fleet'
import { FIXTURES, writePlugin } from '../harness/plugins'
import { startRole } from '../harness/processes'
import { exportSetup, ExportSetup, testEvent } from './export-setup'

describe('startExporter (the exporter role)', function () {
  this.timeout(120_000)
  let s: ExportSetup

  beforeEach(async () => {
    s = await exportSetup()
  })
  afterEach(async () => {
    await s.close()
  })

  it("keeps delivering config B while config A's destination hangs", async () => {
    const otherTeam = await createTeam(s.db.pool, 'b')
    const a = await s.enable(s.team.id, 'export-batch', { url: `${s.url}/a`, exportEventsBufferBytes: '1' })
    const b = await s.enable(otherTeam.id, 'export-batch', { url: `${s.url}/b`, exportEventsBufferBytes: '1' })
    s.destination.responder = ({ path }) => (path === '/a' ? 'hold' : 200)
    await s.startExporter({ EXPORT_CONCURRENCY: '4', EXPORT_CONFIG_CONCURRENCY: '2' })
    for (let i = 0; i < 6; i++) await s.handoff(s.team.id, [testEvent(s.team.id)])
    await eventually(
      'A holds its share of the slots',
      async () => s.destination.heldCount(),
      (n) => n === 2,
    )
    const bEvent = testEvent(otherTeam.id)
    await s.handoff(otherTeam.id, [bEvent])
    await eventually(
      'B delivered',
      async () => s.destination.deliveredUuids('/b'),
      (u) => u.length === 1,
    )
    assert.equal(s.destination.heldCount(), 2, 'A is still hanging, and never took more than its share')
    assert.equal(s.destination.on('/a').length, 2)
    s.destination.responder = () => 200
    s.destination.release()
    await eventually(
      'A delivered once its destination answers',
      () => s.metrics(a),
      (m) => m.events_delivered_successfully === 6,
    )
    assert.equal((await s.metrics(b)).events_delivered_successfully, 1)
  })

  it('puts a job of a config at its share back for longer each time it finds it so (0.5 s, 1 s, 2 s… at most 8 s, give or take a quarter)', async () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 9, 40].map((started) => busyConfigDelayMs(started, 0, 0.5)),
      [500, 1000, 2000, 4000, 8000, 8000, 8000],
    )
    assert.deepEqual([busyConfigDelayMs(9, 0, 0), busyConfigDelayMs(9, 0, 1)], [6000, 10_000])
    assert.equal(busyConfigDelayMs(5, 3, 0.5), 1000, 'starts that ended in a failure or a retry are not put-backs')
    // In an exporter: a hanging destination's third batch, behind the two holding the config's slots.
    await s.enable(s.team.id, 'export-batch', { url: `${s.url}/a`, exportEventsBufferBytes: '1' })
    s.destination.responder = () => 'hold'
    await s.startExporter({ EXPORT_CONCURRENCY: '4', EXPORT_CONFIG_CONCURRENCY: '2' })
    // One at a time: hand-offs that arrive together are exported as one batch.
    for (let held = 1; held <= 2; held++) {
      await s.handoff(s.team.id, [testEvent(s.team.id)])
      await eventually(
        `${held} batches held`,
        async () => s.destination.heldCount(),
        (n) => n === held,
      )
    }
    await s.handoff(s.team.id, [testEvent(s.team.id)])
    const queue = new Queue<DeliveryJobData>(DELIVERIES_QUEUE, { connection: s.redis, prefix: s.prefix })
    try {
      const [waiting] = await eventually(
        'the third batch put back a third time',
        // Read while delayed: a job promoted meanwhile reads delay 0.
        async () => (await queue.getJobs(['delayed'])).filter((job) => job.attemptsStarted >= 3 && job.delay > 0),
        (jobs) => jobs.length === 1,
      )
      // Its third put-back: 2 s, give or take a quarter (at a fixed 500 ms, it was fetched twice a second).
      assert.ok(waiting.delay >= 1500 && waiting.delay <= 2500 * 2 ** (waiting.attemptsStarted - 3), `put back for ${waiting.delay} ms`)
      assert.equal(s.destination.heldCount(), 2)
    } finally {
      s.destination.responder = () => 200
      s.destination.release()
      await queue.close()
    }
  })

  it("keeps delivering another team's config while one team's three configs hang, holding at most EXPORT_TEAM_CONCURRENCY slots together", async () => {
    const otherTeam = await createTeam(s.db.pool, 'b')
    const held = ['/a1', '/a2', '/a3']
    const configs = []
    // One config per plugin and team: three copies of the fixture under names of their own.
    const source = fs.readFileSync(path.join(FIXTURES, 'export-batch/index.ts'), 'utf8')
    const fields = (JSON.parse(fs.readFileSync(path.join(FIXTURES, 'export-batch/plugin.json'), 'utf8')) as { config: unknown[] }).config
    for (const dest of held) {
      const plugin = writePlugin(`export-batch${dest.replace('/', '-')}`, source, fields)
      configs.push(await s.enable(s.team.id, plugin, { url: `${s.url}${dest}`, exportEventsBufferBytes: '1' }))
    }
    const b = await s.enable(otherTeam.id, 'export-batch', { url: `${s.url}/b`, exportEventsBufferBytes: '1' })
    s.destination.responder = ({ path }) => (held.includes(path) ? 'hold' : 200)
    // Without a team's bound its three configs would take 2 slots each: every one of the 4.
    await s.startExporter({ EXPORT_CONCURRENCY: '4', EXPORT_CONFIG_CONCURRENCY: '2', EXPORT_TEAM_CONCURRENCY: '2' })
    for (let i = 0; i < 3; i++) await s.handoff(s.team.id, [testEvent(s.team.id)])
    await eventually(
      "team A's deliveries hold their team's share",
      async () => s.destination.heldCount(),
      (n) => n === 2,
    )
    await s.handoff(otherTeam.id, [testEvent(otherTeam.id)])
    await eventually(
      'B delivered',
      async () => s.destination.deliveredUuids('/b'),
      (u) => u.length === 1,
    )
    assert.equal(s.destination.heldCount(), 2, "team A never took more than its team's share")
    s.destination.responder = () => 200
    s.destination.release()
    for (const config of configs) {
      await eventually(
        `config ${config} delivered once its destination answers`,
        () => s.metrics(config),
        (m) => m.events_delivered_successfully === 3,
      )
    }
    assert.equal((await s.metrics(b)).events_delivered_successfully, 1)
  })

  it("delivers a third team's events while two teams' destinations hang, each team holding its EXPORT_TEAM_CONCURRENCY share of the slots", async () => {
    const teamC = await createTeam(s.db.pool, 'c')
    const teamB = await createTeam(s.db.pool, 'b')
    const a = await s.enable(s.team.id, 'export-batch', { url: `${s.url}/a`, exportEventsBufferBytes: '1' })
    const c = await s.enable(teamC.id, 'export-batch', { url: `${s.url}/c`, exportEventsBufferBytes: '1' })
    const b = await s.enable(teamB.id, 'export-batch', { url: `${s.url}/b`, exportEventsBufferBytes: '1' })
    s.destination.responder = ({ path }) => (path === '/b' ? 200 : 'hold')
    const exporter = await s.startExporter({
      EXPORT_CONCURRENCY: '4',
      EXPORT_CONFIG_CONCURRENCY: '2',
      EXPORT_TEAM_CONCURRENCY: '2',
      EXPORT_STUCK_AFTER_MS: '200',
    })
    for (let i = 0; i < 3; i++) {
      await s.handoff(s.team.id, [testEvent(s.team.id)])
      await s.handoff(teamC.id, [testEvent(teamC.id)])
    }
    await eventually(
      'teams A and C hold every one of the 4 slots',
      async () => s.destination.heldCount(),
      (n) => n === 4,
    )
    const sent = Date.now()
    await s.handoff(teamB.id, [testEvent(teamB.id)])
    await eventually(
      'B delivered',
      async () => s.destination.deliveredUuids('/b'),
      (u) => u.length === 1,
    )
    const waited = Date.now() - sent
    assert.equal(s.destination.heldCount(), 4, `A's and C's deliveries still hang: B's did not wait for them (delivered ${waited} ms after its hand-off)`)
    // Each stuck delivery stops counting EXPORT_STUCK_AFTER_MS after it started, and the four did not start together:
    // B's one delivery needs only the first slot lent.
    await eventually(
      'each stuck delivery stopped counting against EXPORT_CONCURRENCY',
      async () => exporter.deliveryWorker.concurrency,
      (n) => n === 8,
    )
    s.destination.responder = () => 200
    s.destination.release()
    for (const config of [a, c]) {
      await eventually(
        `config ${config} delivered once its destination answers`,
        () => s.metrics(config),
        (m) => m.events_delivered_successfully === 3,
      )
    }
    await eventually(
      'the extra slots are given back',
      async () => exporter.deliveryWorker.concurrency,
      (n) => n === 4,
    )
    assert.equal((await s.metrics(b)).events_delivered_successfully, 1)
  })

  it("keeps at most EXPORT_MAX_PENDING_EVENTS of a config's events waiting in Redis: later batches become dead letters at once, and another team's config delivers", async () => {
    const otherTeam = await createTeam(s.db.pool, 'b')
    const a = await s.enable(s.team.id, 'export-batch', { url: `${s.url}/a`, exportEventsBufferBytes: '1' })
    const b = await s.enable(otherTeam.id, 'export-batch', { url: `${s.url}/b`, exportEventsBufferBytes: '1' })
    s.destination.responder = ({ path }) => (path === '/a' ? 'hold' : 200)
    // One hand-off at a time, each flushed as a batch of its own event: five wait (held by the
    // destination, well within the call deadline), seven do not fit.
    await s.startExporter({ EXPORT_MAX_PENDING_EVENTS: '5', EXPORT_FANOUT_CONCURRENCY: '1', PLUGIN_TIMEOUT_MS: '600000' })
    for (let i = 0; i < 12; i++) await s.handoff(s.team.id, [testEvent(s.team.id)])
    await s.handoff(otherTeam.id, [testEvent(otherTeam.id), testEvent(otherTeam.id)])
    await eventually(
      "the other team's events delivered",
      async () => s.destination.deliveredUuids('/b'),
      (u) => u.length === 2,
    )
    const letters = await eventually(
      "seven of A's batches kept as dead letters",
      () => listDeadLetters(s.db.pool, a),
      (l) => l.length === 7,
    )
    for (const letter of letters) {
      assert.match(letter.error, /^not sent: plugin config \d+ already has 5 events waiting for delivery, over EXPORT_MAX_PENDING_EVENTS \(5\)/)
      assert.equal(letter.attempts, 0)
    }
    const pendingTotal = async () => Number(await s.redis.get(`${s.prefix}:export:pending-events-total:${a}`))
    assert.equal(await pendingTotal(), 5)
    assert.equal((await s.metrics(a)).undelivered_events, 7)
    // Once A's destination answers, its five waiting events are delivered and give their room back.
    s.destination.responder = () => 200
    s.destination.release()
    await eventually(
      'A delivered what was waiting',
      () => s.metrics(a),
      (m) => m.events_delivered_successfully === 5,
    )
    await eventually('A has nothing pending', pendingTotal, (n) => n === 0)
    assert.equal((await s.metrics(b)).events_delivered_successfully, 2)
  })

  it("keeps at most EXPORT_TEAM_MAX_PENDING_EVENTS of a team's events waiting in Redis, its configs together: later batches of each become dead letters naming the team's limit", async () => {
    const otherTeam = await createTeam(s.db.pool, 'b')
    const a1 = await s.enable(s.team.id, 'export-batch', { url: `${s.url}/a1`, exportEventsBufferBytes: '1' })
    const a2 = await s.enable(s.team.id, 'export-on-event', { url: `${s.url}/a2` })
    const b = await s.enable(otherTeam.id, 'export-batch', { url: `${s.url}/b`, exportEventsBufferBytes: '1' })
    s.destination.responder = ({ path }) => (path === '/b' ? 200 : 'hold')
    // Each config alone has room for 5; the team for 6 of the two together.
    await s.startExporter({
      EXPORT_MAX_PENDING_EVENTS: '5',
      EXPORT_TEAM_MAX_PENDING_EVENTS: '6',
      EXPORT_FANOUT_CONCURRENCY: '1',
      PLUGIN_TIMEOUT_MS: '600000',
    })
    for (let i = 0; i < 6; i++) await s.handoff(s.team.id, [testEvent(s.team.id)])
    await s.handoff(otherTeam.id, [testEvent(otherTeam.id), testEvent(otherTeam.id)])
    await eventually(
      "the other team's events delivered",
      async () => s.destination.deliveredUuids('/b'),
      (u) => u.length === 2,
    )
    const letters = await eventually(
      "six of the team's twelve batches kept as dead letters",
      async () => [...(await listDeadLetters(s.db.pool, a1)), ...(await listDeadLetters(s.db.pool, a2))],
      (l) => l.length === 6,
    )
    for (const letter of letters) {
      assert.match(
        letter.error,
        /^not sent: team \d+'s plugin configs already have 6 events waiting for delivery together, over EXPORT_TEAM_MAX_PENDING_EVENTS \(6\)/,
      )
    }
    const teamTotal = async () => Number(await s.redis.get(`${s.prefix}:export:team-pending-events-total:${s.team.id}`))
    assert.equal(await teamTotal(), 6)
    s.destination.responder = () => 200
    s.destination.release()
    await eventually(
      'the waiting six delivered',
      async () => (await s.metrics(a1)).events_delivered_successfully + (await s.metrics(a2)).events_delivered_successfully,
      (n) => n === 6,
    )
    await eventually("the team's room given back", teamTotal, (n) => n === 0)
    assert.equal((await s.metrics(b)).events_delivered_successfully, 2)
  })

  it("turns a team's batches past EXPORT_FLEET_MAX_PENDING_EVENTS into dead letters that name neither all teams' count nor the limit", async () => {
    const otherTeam = await createTeam(s.db.pool, 'b')
    const a = await s.enable(s.team.id, 'export-batch', { url: `${s.url}/a`, exportEventsBufferBytes: '1' })
    const b = await s.enable(otherTeam.id, 'export-batch', { url: `${s.url}/b`, exportEventsBufferBytes: '1' })
    s.destination.responder = () => 'hold'
    await s.startExporter({ EXPORT_FLEET_MAX_PENDING_EVENTS: '4', EXPORT_FANOUT_CONCURRENCY: '1', PLUGIN_TIMEOUT_MS: '600000' })
    for (let i = 0; i < 4; i++) await s.handoff(s.team.id, [testEvent(s.team.id)])
    const fleetTotal = async () => Number(await s.redis.get(`${s.prefix}:export:fleet-pending-events-total`))
    await eventually("the first team's four events waiting", fleetTotal, (n) => n === 4)
    await s.handoff(otherTeam.id, [testEvent(otherTeam.id)])
    const [letter] = await eventually(
      "the other team's batch kept as a dead letter",
      async () => listDeadLetters(s.db.pool, b),
      (l) => l.length === 1,
    )
    assert.match(
      letter.error,
      /^not sent: the plugin configs of all teams have too many events waiting for delivery together, over EXPORT_FLEET_MAX_PENDING_EVENTS: /,
    )
    assert.doesNotMatch(letter.error.split(': ').slice(0, 2).join(': '), /\d/, 'no count, no limit')
    s.destination.responder = () => 200
    s.destination.release()
    await eventually(
      'the waiting four delivered',
      async () => (await s.metrics(a)).events_delivered_successfully,
      (n) => n === 4,
    )
  })

  it('delivers a batch whose exporter was SIGKILLed mid-delivery through another exporter, at most twice', async () => {
    const configId = await s.enable(s.team.id, 'export-batch', { url: `${s.url}/kill` })
    let first = true
    s.destination.responder = () => (first ? ((first = false), 'hold') : 200)
    const env = {
      ...s.env,
      REDIS_URL: process.env.REDIS_URL!,
      EXPORT_BUFFER_MAX_AGE_MS: '100',
      EXPORT_FLUSH_INTERVAL_MS: '50',
      EXPORT_LOCK_DURATION_MS: '2000',
    }
    const doomed = await startRole('exporter', env)
    const events = Array.from({ length: 20 }, () => testEvent(s.team.id))
    await s.handoff(s.team.id, events.slice(0, 10))
    await s.handoff(s.team.id, events.slice(10))
    await eventually(
      'the batch reached the destination',
      async () => s.destination.heldCount(),
      (n) => n === 1,
    )
    await doomed.kill('SIGKILL')
    const survivor = await startRole('exporter', env)
    await eventually(
      'delivered by the survivor',
      async () => s.destination.deliveredUuids('/kill'),
      (u) => u.length >= 20,
    )
    const delivered = s.destination.deliveredUuids('/kill')
    assert.deepEqual([...delivered].sort(), events.map((e) => e.uuid).sort(), 'every event delivered exactly once after the kill')
    const seen = s.destination.on('/kill').flatMap((r) => (r.body.events as { uuid: string }[]).map((e) => e.uuid))
    for (const e of events) assert.ok(seen.filter((u) => u === e.uuid).length <= 2, 'received at most twice')
    // The metric is written once the destination has answered, so it may trail the last request a little.
    await eventually(
      'the delivered metric counts the 20 events',
      () => s.metrics(configId),
      (m) => m.events_delivered_successfully === 20,
    )
    await survivor.kill('SIGTERM')
  })
})
