import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { Job } from 'bullmq'
import { createIngestQueue, IngestBatch, IngestEvent } from '@plugin-server/core'
import { createTeam, Team } from '@plugin-server/db'
import { BatchResult, createPluginChainMetrics, processEventStep, startIngestConsumer, TeamPlugins } from '@plugin-server/ingestion'
import type { ActiveConfig, PluginRuntime } from '@plugin-server/plugin-runtime'
import type { PluginConfigView } from '@plugin-server/management'
import type { BatchJsonResult, BatchText, PluginInstance } from '@plugin-server/plugin-vm'
import type { TestDatabase } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { pluginRuntimeFixture, PluginRuntimeFixture } from '../harness/plugin-runtime-fixture'
import { enablePlugin, writePlugin } from '../harness/plugins'

const PROCESS_EVENT_TIMEOUT_MS = 1500

/** What containment-hostile returns for an event, by its `mode` property. */
const FORGED = ['tojson-null', 'event-null', 'event-number', 'proxy', 'throw', 'deep'] as const
const VALID = ['getter', 'surrogates', 'async', 'plain'] as const

interface StoredRow {
  team_id: number
  event: string
  properties: Record<string, unknown>
}

describe('containment: one plugin breaks only its own events', function () {
  this.timeout(60_000)
  let fx: PluginRuntimeFixture
  let db: TestDatabase
  let teamA: Team
  let teamB: Team
  let runtime: PluginRuntime

  beforeEach(async () => {
    // processEvent's deadline is the lower one; the general one would let a loop run for 30 s.
    fx = await pluginRuntimeFixture({ PLUGIN_PROCESS_EVENT_TIMEOUT_MS: String(PROCESS_EVENT_TIMEOUT_MS), PLUGIN_TIMEOUT_MS: '30000' })
    ;({ db, team: teamA } = fx)
    teamB = await createTeam(db.pool, 'b')
  })
  afterEach(async () => fx.close())

  const event = (team: Team, properties: Record<string, unknown>): IngestEvent => {
    const now = new Date().toISOString()
    return {
      uuid: randomUUID(),
      team_id: team.id,
      event: '$pageview',
      distinct_id: 'u',
      properties,
      timestamp: now,
      now,
      sent_at: null,
      ip: null,
      site_url: '',
    }
  }

  const chain = (plugins: TeamPlugins = runtime.manager) =>
    processEventStep(plugins, {
      pool: db.pool,
      logs: runtime.services.logs,
      metrics: createPluginChainMetrics(fx.ctx.registry),
      timeoutMs: fx.ctx.config.plugins.processEventTimeoutMs,
      maxEventBytes: fx.ctx.config.capture.maxEventBytes,
    })

  const stored = async (team: Team): Promise<StoredRow[]> =>
    (await db.pool.query<StoredRow>(`SELECT team_id, event, properties FROM events WHERE team_id = $1 ORDER BY properties->>'n'`, [team.id])).rows

  const errorsLoggedFor = async (): Promise<Record<number, string[]>> => {
    await runtime.services.logs.flush()
    const { rows } = await db.pool.query<{ plugin_config_id: number; message: string }>(
      `SELECT plugin_config_id, message FROM plugin_log_entries WHERE type = 'ERROR' ORDER BY id`,
    )
    const byConfig: Record<number, string[]> = {}
    for (const row of rows) (byConfig[row.plugin_config_id] ??= []).push(row.message)
    return byConfig
  }

  const configErrors = async (): Promise<Record<number, { message: string } | null>> => {
    const { rows } = await db.pool.query<{ id: number; error: { message: string } | null }>('SELECT id, error FROM plugin_configs ORDER BY id')
    return Object.fromEntries(rows.map((r) => [r.id, r.error]))
  }

  const name = (config: PluginConfigView, plugin: string) => `${plugin} (${config.id})`

  it("stores every event of a mixed batch on the first attempt; forged output is the hostile config's error, logged against it alone", async () => {
    const hostile = await enablePlugin(fx.management, teamA.id, 'containment-hostile', {}, { order: 1 })
    const healthyA = await enablePlugin(fx.management, teamA.id, 'containment-healthy', {}, { order: 2 })
    const healthyB = await enablePlugin(fx.management, teamB.id, 'containment-healthy')
    runtime = await fx.start()
    const consumer = startIngestConsumer(fx.ctx, [chain()])
    const queue = createIngestQueue(fx.ctx.newRedisConnection('producer'), fx.ctx.config)
    try {
      const modes = [...FORGED, ...VALID]
      const events = modes.flatMap((mode, n) => [event(teamA, { n, mode }), event(teamB, { n, mode })])
      const job = await queue.add('batch', { events }, { jobId: `b-${randomUUID()}` })
      const done = await eventually(
        'the batch completes',
        async () => (await queue.getJob(job.id!)) as Job<IngestBatch, BatchResult>,
        (j) => j.finishedOn !== undefined,
      )
      assert.equal(done.failedReason, undefined)
      // BullMQ counts the attempt that completed too.
      assert.equal(done.attemptsMade, 1, 'completed on its first attempt')
      assert.deepEqual(done.returnvalue, { received: events.length, stored: events.length, duplicates: 0, dropped: 0, requeued: 0 })
    } finally {
      await consumer.closers[0].close()
      await queue.close()
    }

    const hostileName = name(hostile, 'Containment Hostile')
    const healthyAName = name(healthyA, 'Containment Healthy')
    for (const row of await stored(teamB)) {
      assert.equal(row.properties.healthy, true)
      assert.deepEqual(row.properties.$plugins_succeeded, [name(healthyB, 'Containment Healthy')])
      assert.deepEqual(row.properties.$plugins_failed, [])
    }
    const rowsA = await stored(teamA)
    assert.equal(rowsA.length, FORGED.length + VALID.length)
    for (const row of rowsA) {
      const mode = row.properties.mode as string
      assert.equal(row.properties.healthy, true, `${mode}: the next plugin of the chain still ran`)
      if ((FORGED as readonly string[]).includes(mode)) {
        assert.equal(row.event, '$pageview', `${mode}: stored as it was before the hostile plugin`)
        assert.equal(row.properties.hostile, undefined, `${mode}: none of the hostile output kept`)
        assert.deepEqual(row.properties.$plugins_failed, [hostileName], mode)
        assert.deepEqual(row.properties.$plugins_succeeded, [healthyAName], mode)
      } else {
        assert.equal(row.properties.hostile, mode, `${mode}: the plugin's own valid output is kept`)
        assert.deepEqual(row.properties.$plugins_succeeded, [hostileName, healthyAName], mode)
        assert.deepEqual(row.properties.$plugins_failed, [], mode)
      }
    }
    const byMode = Object.fromEntries(rowsA.map((r) => [r.properties.mode, r]))
    assert.equal(byMode.getter.event, 'read once', 'a getter is read once: validated and stored value are the same')
    assert.equal(byMode.surrogates.properties.high, 'a\ufffdb', 'lone surrogates are replaced, not refused by Postgres')
    assert.equal(byMode.surrogates.properties.low, '\ufffd')

    const logged = await errorsLoggedFor()
    assert.deepEqual(Object.keys(logged).map(Number), [hostile.id], 'errors are logged against the hostile config only')
    const messages = logged[hostile.id].join('\n')
    assert.match(messages, /toJSON method/)
    assert.match(messages, /"event" is null, expected a non-empty string/)
    assert.match(messages, /"event" is a number/)
    assert.match(messages, /could not be read: ownKeys trap says no/)
    assert.match(messages, /thrown on purpose/)
    assert.match(messages, /processEvent failed on 1 more events of the same batch/)
    const errors = await configErrors()
    // The last failure of the batch (only the first five are logged one by one).
    assert.match(errors[hostile.id]?.message ?? '', /^processEvent returned an event nested deeper than 64 levels, which capture refuses from clients too$/)
    assert.equal(errors[healthyA.id], null)
    assert.equal(errors[healthyB.id], null)
  })

  it('keeps an event a plugin made larger than CAPTURE_MAX_EVENT_BYTES as it was, blaming that plugin, and the next plugin still runs', async () => {
    const inflater = await enablePlugin(
      fx.management,
      teamA.id,
      writePlugin('inflater', `export function processEvent(e) { e.properties.pad = 'x'.repeat(e.properties.inflate ? 2 * 1024 * 1024 : 10); return e }`),
      {},
      { order: 1 },
    )
    await enablePlugin(fx.management, teamA.id, 'containment-healthy', {}, { order: 2 })
    runtime = await fx.start()
    const consumer = startIngestConsumer(fx.ctx, [chain()])
    const queue = createIngestQueue(fx.ctx.newRedisConnection('producer'), fx.ctx.config)
    try {
      await queue.add('batch', { events: [event(teamA, { n: 0, inflate: true }), event(teamA, { n: 1 })] }, { jobId: `b-${randomUUID()}` })
      const rows = await eventually(
        'both events stored',
        () => stored(teamA),
        (r) => r.length === 2,
      )
      assert.equal(rows[0].properties.pad, undefined, 'the inflated event is stored as it was before that plugin')
      assert.deepEqual(rows[0].properties.$plugins_failed, [name(inflater, 'inflater')])
      assert.equal(rows[0].properties.healthy, true, 'the next plugin ran on it')
      assert.equal(rows[1].properties.pad, 'x'.repeat(10))
      const errors = await configErrors()
      assert.match(
        errors[inflater.id]?.message ?? '',
        /^processEvent returned an event of \d+ characters of JSON, over CAPTURE_MAX_EVENT_BYTES \(1048576 bytes\)/,
      )
    } finally {
      await consumer.closers[0].close()
      await queue.close()
    }
  })

  it("blames the plugin whose output cannot be stored even when its sandbox's answers are forged, never the plugin before it or another team's", async () => {
    const healthyA = await enablePlugin(fx.management, teamA.id, 'containment-healthy', {}, { order: 1 })
    const forger = await enablePlugin(fx.management, teamA.id, writePlugin('forger', 'export function processEvent(e) { return e }'), {}, { order: 2 })
    const healthyB = await enablePlugin(fx.management, teamB.id, 'containment-healthy')
    runtime = await fx.start()
    // A sandbox runner subverted past every check it makes would answer like this.
    const answers: Record<string, BatchJsonResult> = {
      'null text': { ok: true, json: 'null' },
      'event null': { ok: true, json: '{"event":null}' },
      'broken json': { ok: true, json: '{"event": }' },
      'error not a record': { ok: false, error: 'just a string' as never },
      'out of range fields': {
        ok: true,
        json: '{"event":"kept","timestamp":"-271821-04-20T00:00:00.000Z","distinct_id":{"x":1},"properties":[1],"ip":5,"site_url":null}',
      },
    }
    const forging = (instance: PluginInstance): PluginInstance =>
      new Proxy(instance, {
        get: (target, key) =>
          key === 'processEventBatchText'
            ? async (batch: string) => {
                const events = JSON.parse(batch) as { properties: { case: string } }[]
                const results = events.map((event) => answers[event.properties.case])
                return events.length === 1 ? { codes: '', errors: [], events: '[]' } : batchText(results)
              }
            : Reflect.get(target, key),
      })
    const plugins: TeamPlugins = {
      teamConfigs: async (teamId) =>
        (await runtime.manager.teamConfigs(teamId)).map((config): ActiveConfig =>
          config.record.id === forger.id ? { ...config, use: (fn, options) => config.use((i) => fn(forging(i)), options) } : config,
        ),
    }
    const step = chain(plugins)
    const cases = Object.keys(answers)
    const original = cases.map((c) => event(teamA, { case: c }))
    const out = await step.run([...original, event(teamB, { case: 'b' })])

    const [forgerName, healthyAName] = [name(forger, 'forger'), name(healthyA, 'Containment Healthy')]
    for (const [i, c] of cases.entries()) {
      if (c === 'out of range fields') continue
      assert.equal(out[i].properties.healthy, true, `${c}: kept as the plugin before the forger returned it`)
      assert.deepEqual(out[i].properties.$plugins_failed, [forgerName], c)
      assert.deepEqual(out[i].properties.$plugins_succeeded, [healthyAName], c)
    }
    // An event whose fields are merely of the wrong type or range is the forger's event, each such field the original's.
    const ranged = out[cases.indexOf('out of range fields')]
    assert.deepEqual(ranged.properties.$plugins_succeeded, [healthyAName, forgerName])
    assert.deepEqual(ranged.properties.$plugins_failed, [])
    assert.equal(ranged.event, 'kept')
    assert.equal(ranged.properties.healthy, undefined, 'properties that are not an object become empty ones')
    assert.equal(ranged.timestamp, original[cases.indexOf('out of range fields')].timestamp, 'a timestamp Postgres cannot store is not taken')
    assert.equal(ranged.distinct_id, 'u')
    assert.equal(ranged.ip, null)
    assert.equal(ranged.site_url, '')
    assert.deepEqual(out.at(-1)!.properties.$plugins_succeeded, [name(healthyB, 'Containment Healthy')])

    const [single] = await step.run([event(teamA, { case: 'null text' })])
    assert.deepEqual(single.properties.$plugins_failed, [forgerName], 'a wrong number of results fails the call for this plugin only')

    const logged = await errorsLoggedFor()
    assert.deepEqual(Object.keys(logged).map(Number), [forger.id])
    const messages = logged[forger.id].join('\n')
    assert.match(messages, /not an event object/)
    assert.match(messages, /"event" is null/)
    assert.match(messages, /not valid JSON/)
    assert.match(messages, /just a string/)
    assert.match(messages, /returned 0 results for a batch of 1 events/)
    const errors = await configErrors()
    assert.equal(errors[healthyA.id], null)
    assert.equal(errors[healthyB.id], null)
  })

  it("stores another team's events while one team's plugin loops until its processEvent deadline", async () => {
    const looping = await enablePlugin(fx.management, teamA.id, writePlugin('looping', 'export function processEvent(e) { while (true) {} }'))
    await enablePlugin(fx.management, teamB.id, 'containment-healthy')
    runtime = await fx.start()
    const consumer = startIngestConsumer(fx.ctx, [chain()])
    const queue = createIngestQueue(fx.ctx.newRedisConnection('producer'), fx.ctx.config)
    try {
      const events = [0, 1, 2].flatMap((n) => [event(teamA, { n }), event(teamB, { n })])
      const sent = Date.now()
      await queue.add('batch', { events }, { jobId: `b-${randomUUID()}` })
      await eventually(
        'team B stored',
        () => stored(teamB),
        (rows) => rows.length === 3,
      )
      const lagB = Date.now() - sent
      assert.deepEqual(await stored(teamA), [], "team A's chain is still running")
      await eventually(
        'team A stored',
        () => stored(teamA),
        (rows) => rows.length === 3,
      )
      const lagA = Date.now() - sent
      process.stdout.write(`      team B stored ${lagB} ms after sending, team A (looping plugin) ${lagA} ms\n`)
      assert.ok(lagB < PROCESS_EVENT_TIMEOUT_MS, `team B waited ${lagB} ms`)
      assert.ok(lagA >= PROCESS_EVENT_TIMEOUT_MS)
      for (const row of await stored(teamA)) assert.deepEqual(row.properties.$plugins_failed, [name(looping, 'looping')])
      const logged = await errorsLoggedFor()
      assert.match(logged[looping.id].join('\n'), new RegExp(`exceeded its time limit \\(${PROCESS_EVENT_TIMEOUT_MS} ms\\)`))
    } finally {
      await consumer.closers[0].close()
      await queue.close()
    }
  })
})

/** Per-event answers as the sandbox's batch text carries them (BatchText), each event's JSON as forged. */
function batchText(results: BatchJsonResult[]): BatchText {
  const codes = results.map((r) => (!r.ok ? 'X' : r.json === null ? 'N' : 'E')).join('')
  const errors = results.flatMap((r) => (r.ok ? [] : [r.error]))
  const events = '[' + results.flatMap((r) => (r.ok && r.json !== null ? [r.json] : [])).join('\n,') + ']'
  return { codes, errors, events }
}
