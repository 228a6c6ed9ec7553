import assert from 'node:assert/strict'
import {
  DeliveryJobData,
  DeliveryQueue,
  DELIVERIES_QUEUE,
  exportStatus,
  listDeadLetters,
  MAX_RETRIES,
  replayDeadLetters,
  retryDelayMs,
} from '@plugin-server/export'
import { Queue } from 'bullmq'
import { toProcessedEvent } from '@plugin-server/plugin-runtime'
import { eventually } from '../harness/fleet'
import { writePlugin } from '../harness/plugins'
import { exportSetup, ExportSetup, TEST_TIME_SCALE, testEvent } from './export-setup'
import fs from 'node:fs'
import path from 'node:path'
import { FIXTURES } from '../harness/plugins'

const LIMITS = { maxPendingEvents: 200_000, maxTeamPendingEvents: 400_000, maxFleetPendingEvents: 2_000_000 }

describe('DeliveryProcessor (retries, dead letters, metrics)', function () {
  this.timeout(120_000)
  let s: ExportSetup

  beforeEach(async () => {
    s = await exportSetup()
  })
  afterEach(async () => {
    await s.close()
  })

  const oneBatch = async (path: string, fixture = 'export-batch', n = 3) => {
    const configId = await s.enable(s.team.id, fixture, { url: `${s.url}${path}` })
    const exporter = await s.startExporter({ EXPORT_BUFFER_MAX_AGE_MS: '50' })
    const events = Array.from({ length: n }, () => testEvent(s.team.id))
    await s.handoff(s.team.id, events)
    return { configId, exporter, events }
  }

  it(`retries a batch whose exportEvents throws RetryError ${MAX_RETRIES} times with doubling delays, then keeps it as a dead letter`, async () => {
    s.destination.responder = () => 503
    const { configId } = await oneBatch('/down')
    const [letter] = await eventually(
      'a dead letter',
      () => listDeadLetters(s.db.pool, configId),
      (l) => l.length === 1,
    )
    const attempts = s.destination.on('/down')
    assert.equal(attempts.length, 1 + MAX_RETRIES, 'the first attempt and 15 retries')
    for (let retry = 1; retry <= MAX_RETRIES; retry++) {
      const gap = attempts[retry].at - attempts[retry - 1].at
      assert.ok(
        gap >= retryDelayMs(retry, TEST_TIME_SCALE) - 1,
        `retry ${retry} came ${gap} ms after the attempt before, expected at least ${retryDelayMs(retry, TEST_TIME_SCALE)} ms`,
      )
    }
    assert.equal(letter.attempts, 1 + MAX_RETRIES)
    assert.equal(letter.retryError, true)
    assert.equal(letter.eventCount, 3)
    assert.match(letter.error, /RetryError: destination answered 503/)
    assert.deepEqual(await s.metrics(configId), { events_seen: 3, events_delivered_successfully: 0, retry_errors: 16, other_errors: 0, undelivered_events: 3 })
    const status = await exportStatus(s.db.pool, s.redis, s.prefix, configId)
    assert.deepEqual(status.metrics, await s.metrics(configId))
    assert.deepEqual(status.deadLetters, { pending: 1, pendingEvents: 3, replayed: 0 })
    assert.equal(status.retriesInFlight, 0)
    assert.equal(status.pendingBatches, 0)
    const text = await s.prometheus()
    assert.match(
      text,
      new RegExp(
        `plugin_export_undelivered_events_total\\{team_id="${s.team.id}",plugin="Export Batch Fixture",plugin_config_id="${configId}",method="exportEvents"\\} 3`,
      ),
    )
    assert.match(text, /plugin_export_retry_errors_total\{[^}]*\} 16/)
  })

  it('does not retry a batch whose exportEvents throws another error, and keeps it as a dead letter', async () => {
    s.destination.responder = () => 400
    const { configId } = await oneBatch('/refused')
    const [letter] = await eventually(
      'a dead letter',
      () => listDeadLetters(s.db.pool, configId),
      (l) => l.length === 1,
    )
    assert.equal(s.destination.on('/refused').length, 1)
    assert.equal(letter.retryError, false)
    assert.equal(letter.attempts, 1)
    assert.deepEqual(await s.metrics(configId), { events_seen: 3, events_delivered_successfully: 0, retry_errors: 0, other_errors: 1, undelivered_events: 3 })
  })

  it('counts a batch delivered after 3 retries once', async () => {
    s.destination.responder = ({ index }) => (index < 3 ? 503 : 200)
    const { configId, events } = await oneBatch('/flaky')
    await eventually(
      'delivered',
      () => s.metrics(configId),
      (m) => m.events_delivered_successfully > 0,
    )
    await eventually(
      'job finished',
      async () => (await s.exportQueue.getJobCounts('active')).active,
      (n) => n === 0,
    )
    assert.equal(s.destination.on('/flaky').length, 4)
    assert.deepEqual(
      s.destination.deliveredUuids('/flaky'),
      events.map((e) => e.uuid),
    )
    assert.deepEqual(await s.metrics(configId), { events_seen: 3, events_delivered_successfully: 3, retry_errors: 3, other_errors: 0, undelivered_events: 0 })
    assert.deepEqual(await listDeadLetters(s.db.pool, configId), [])
  })

  it('replays a dead letter with a new retry budget and marks it replayed', async () => {
    s.destination.responder = () => 400
    const { configId, events } = await oneBatch('/replay')
    const [letter] = await eventually(
      'a dead letter',
      () => listDeadLetters(s.db.pool, configId),
      (l) => l.length === 1,
    )
    s.destination.responder = () => 200
    const { DeliveryQueue } = await import('@plugin-server/export')
    const deliveries = new DeliveryQueue(s.redis, s.prefix)
    assert.deepEqual(await replayDeadLetters(s.db.pool, deliveries, configId, LIMITS, { since: new Date(Date.now() - 60_000) }), {
      replayed: 1,
      events: 3,
      deadLetterIds: [letter.id],
      notReplayed: 0,
      heldBack: null,
      remaining: 0,
    })
    await eventually(
      'replayed batch delivered',
      async () => s.destination.deliveredUuids('/replay'),
      (u) => u.length === 3,
    )
    assert.deepEqual(
      s.destination.deliveredUuids('/replay'),
      events.map((e) => e.uuid),
    )
    const [after] = await listDeadLetters(s.db.pool, configId)
    assert.notEqual(after.replayedAt, null)
    assert.deepEqual(await replayDeadLetters(s.db.pool, deliveries, configId, LIMITS), {
      replayed: 0,
      events: 0,
      deadLetterIds: [],
      notReplayed: 0,
      heldBack: null,
      remaining: 0,
    })
    await deliveries.close()
  })

  it('calls onEvent and onSnapshot with a copy of each event per config, retrying only the events that threw RetryError', async () => {
    const source = fs.readFileSync(path.join(FIXTURES, 'export-on-event/index.ts'), 'utf8')
    const first = await s.enable(s.team.id, 'export-on-event', { url: `${s.url}/on`, label: 'first' })
    const second = await s.enable(
      s.team.id,
      writePlugin('export-on-event-second', source, [
        { key: 'url', type: 'string' },
        { key: 'label', type: 'string' },
      ]),
      { url: `${s.url}/on`, label: 'second' },
    )
    const flaky = testEvent(s.team.id, 'flaky')
    const events = [testEvent(s.team.id, 'fine'), flaky, testEvent(s.team.id, '$snapshot')]
    let flakyFailures = 0
    s.destination.responder = ({ body }) => {
      const event = body.event as { uuid: string }
      return body.label === 'first' && event.uuid === flaky.uuid && flakyFailures++ < 2 ? 503 : 200
    }
    await s.startExporter()
    await s.handoff(s.team.id, events)
    await eventually(
      'all delivered',
      async () => (await s.metrics(first)).events_delivered_successfully + (await s.metrics(second)).events_delivered_successfully,
      (n) => n === 6,
    )
    const received = s.destination
      .on('/on')
      .map((r) => r.body as { kind: string; label: string; event: { uuid: string; event: string; properties: Record<string, unknown> } })
    for (const r of received) assert.equal(r.event.properties.touched_by, r.label, 'each plugin sees only its own change')
    const calls = (label: string, uuid: string) => received.filter((r) => r.label === label && r.event.uuid === uuid)
    assert.equal(calls('first', flaky.uuid).length, 3, 'two RetryErrors, then delivered')
    assert.equal(calls('first', events[0].uuid).length, 1, 'an event that succeeded is not called again')
    assert.equal(calls('second', flaky.uuid).length, 1)
    assert.deepEqual(
      calls('first', events[2].uuid).map((r) => r.kind),
      ['onSnapshot'],
    )
    assert.deepEqual(
      calls('first', events[0].uuid).map((r) => r.kind),
      ['onEvent'],
    )
    assert.deepEqual(await s.metrics(first), { events_seen: 3, events_delivered_successfully: 3, retry_errors: 2, other_errors: 0, undelivered_events: 0 })
  })

  it('sends the delivered part of a batch once when keeping the rest as a dead letter fails and the job runs again', async () => {
    // Postgres refuses the dead letter (a trigger standing in for Postgres being away) until the test drops the trigger.
    await s.db.pool.query(`CREATE FUNCTION refuse_dead_letter() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'dead letters refused'; END $$`)
    await s.db.pool.query(`CREATE TRIGGER refuse_dead_letter BEFORE INSERT ON export_dead_letters FOR EACH ROW EXECUTE FUNCTION refuse_dead_letter()`)
    const configId = await s.enable(s.team.id, 'export-on-event', { url: `${s.url}/on`, label: 'only' })
    const refused = testEvent(s.team.id, 'refused')
    const events = [testEvent(s.team.id, 'fine'), refused, testEvent(s.team.id, 'also fine')]
    s.destination.responder = ({ body }) => ((body.event as { uuid: string }).uuid === refused.uuid ? 400 : 200)
    await s.startExporter()
    await s.handoff(s.team.id, events)
    const calls = (uuid: string) => s.destination.on('/on').filter((r) => (r.body.event as { uuid: string }).uuid === uuid).length
    await eventually(
      'the job ran again after its dead letter was refused',
      async () => calls(refused.uuid),
      (n) => n >= 2,
    )
    await s.db.pool.query('DROP TRIGGER refuse_dead_letter ON export_dead_letters')
    const [letter] = await eventually(
      'a dead letter',
      () => listDeadLetters(s.db.pool, configId),
      (l) => l.length === 1,
    )
    assert.equal(letter.eventCount, 1, 'only the refused event is kept')
    assert.equal(calls(events[0].uuid), 1, 'a delivered event is not sent again')
    assert.equal(calls(events[2].uuid), 1, 'a delivered event is not sent again')
    await eventually(
      'counted',
      () => s.metrics(configId),
      (m) => m.undelivered_events === 1,
    )
    assert.deepEqual(await s.metrics(configId), { events_seen: 3, events_delivered_successfully: 2, retry_errors: 0, other_errors: 1, undelivered_events: 1 })
  })

  it('sends what composeWebhook returns itself, retrying a 503 and skipping events it returns null for', async () => {
    const configId = await s.enable(s.team.id, 'export-webhook', { url: `${s.url}/hook` })
    s.destination.responder = ({ index }) => (index === 0 ? 503 : 200)
    await s.startExporter()
    const event = testEvent(s.team.id, 'signed up')
    await s.handoff(s.team.id, [event, testEvent(s.team.id, '$autocapture')])
    await eventually(
      'delivered',
      () => s.metrics(configId),
      (m) => m.events_delivered_successfully === 2,
    )
    const hooks = s.destination.on('/hook')
    assert.equal(hooks.length, 2)
    assert.deepEqual(hooks[1].body, { text: 'user-1 did signed up', uuid: event.uuid })
    assert.equal(hooks[1].headers['x-fixture'], 'webhook')
    assert.deepEqual(await s.metrics(configId), { events_seen: 2, events_delivered_successfully: 2, retry_errors: 1, other_errors: 0, undelivered_events: 0 })
  })

  it('refuses a composeWebhook URL on an address the plugin fetch policy refuses, without retrying or sending it', async () => {
    const configId = await s.enable(s.team.id, 'export-webhook', { url: `${s.url}/internal` })
    await s.startExporter({ PLUGIN_FETCH_ALLOWED_HOSTS: '' })
    await s.handoff(s.team.id, [testEvent(s.team.id, 'signed up')])
    const [letter] = await eventually(
      'a dead letter',
      () => listDeadLetters(s.db.pool, configId),
      (l) => l.length === 1,
    )
    assert.match(letter.error, /webhook to 127\.0\.0\.1:\d+ refused: fetch refused: .*127\.0\.0\.1/)
    assert.equal(letter.retryError, false)
    assert.equal(s.destination.on('/internal').length, 0, 'the private address was never reached')
    assert.deepEqual(await s.metrics(configId), { events_seen: 1, events_delivered_successfully: 0, retry_errors: 0, other_errors: 1, undelivered_events: 1 })
  })

  it('delivers a batch for a config enabled in Postgres that this exporter has not heard of yet (the reload message missed), instead of keeping it as a dead letter', async () => {
    const configId = await s.enable(s.team.id, 'export-batch', { url: `${s.url}/late` })
    await s.db.pool.query('UPDATE plugin_configs SET enabled = false WHERE id = $1', [configId])
    await s.startExporter()
    // Turned on without the message every worker reloads on, as when it is lost over a Redis reconnect.
    await s.db.pool.query('UPDATE plugin_configs SET enabled = true WHERE id = $1', [configId])
    const deliveries = new DeliveryQueue(s.redis, s.prefix)
    const events = [toProcessedEvent(testEvent(s.team.id))]
    await deliveries.add([{ jobId: 'd-late', data: { configId, teamId: s.team.id, method: 'exportEvents', events, source: { type: 'live' }, attempts: [] } }])
    try {
      await eventually(
        'the batch delivered',
        async () => s.destination.on('/late').length,
        (n) => n === 1,
      )
      assert.deepEqual(await listDeadLetters(s.db.pool, configId), [])
    } finally {
      await deliveries.close()
    }
  })

  // exportEvents fails the config's use, onEvent fails within it: both reach the job without the secret.
  for (const method of ['exportEvents', 'onEvent'])
    it(`keeps the config's secrets out of what a failed ${method} attempt leaves in the job (its attempts, failure reason and stack)`, async () => {
      const secret = 'sk_live_"quoted\\+/=key'
      await s.enable(
        s.team.id,
        writePlugin(
          `export-secret-${method}`,
          `export async function ${method}(events, { config }) { throw new RetryError('401 for key ' + config.apiKey + ' in ' + JSON.stringify({ key: config.apiKey })) }`,
          [{ key: 'apiKey', name: 'API key', type: 'string', secret: true, required: true }],
        ),
        { apiKey: secret },
      )
      await s.startExporter({ EXPORT_BUFFER_MAX_AGE_MS: '50' })
      await s.handoff(s.team.id, [testEvent(s.team.id)])
      const queue = new Queue<DeliveryJobData>(DELIVERIES_QUEUE, { connection: s.redis, prefix: s.prefix })
      try {
        const [job] = await eventually(
          'a retry scheduled',
          async () => (await queue.getJobs(['delayed', 'waiting', 'active'])).filter((j) => j.data.attempts.length > 0 && j.failedReason),
          (jobs) => jobs.length > 0,
        )
        const kept = JSON.stringify({ data: job.data, reason: job.failedReason, stack: job.stacktrace })
        assert.match(job.data.attempts[0].error, /401 for key \*\*\* in \{"key":"\*\*\*"\}/)
        assert.match(job.failedReason, /401 for key \*\*\*/)
        for (const form of [secret, JSON.stringify(secret).slice(1, -1)]) assert.ok(!kept.includes(form), `${form} in ${kept}`)
      } finally {
        await queue.close()
      }
    })

  it('keeps a batch for a config whose plugin fails to load waiting without spending its attempts, however many times it finds it so', async () => {
    const configId = await s.enable(
      s.team.id,
      writePlugin('export-broken', `if (!globalThis.never) throw new Error('cannot load')\nexport async function onEvent() {}`),
      {},
    )
    await s.startExporter()
    const deliveries = new DeliveryQueue(s.redis, s.prefix)
    const event = toProcessedEvent(testEvent(s.team.id))
    await deliveries.add([
      { jobId: 'd-never-ready', data: { configId, teamId: s.team.id, method: 'onEvent', events: [event], source: { type: 'live' }, attempts: [] } },
    ])
    const queue = new Queue<DeliveryJobData>(DELIVERIES_QUEUE, { connection: s.redis, prefix: s.prefix })
    try {
      const seen = new Set<number>()
      const [job] = await eventually(
        'the delivery found its config failed five times',
        async () => {
          const jobs = await queue.getJobs(['waiting', 'delayed', 'active', 'failed'])
          for (const j of jobs) if (j.processedOn) seen.add(j.processedOn)
          return jobs
        },
        (jobs) => jobs.length === 1 && seen.size >= 5,
      )
      assert.equal(job.attemptsMade, 0)
      assert.equal(job.data.configId, configId)
      assert.deepEqual(await listDeadLetters(s.db.pool, configId), [])
    } finally {
      await queue.close()
      await deliveries.close()
    }
  })
})
