import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { IngestEvent } from '@plugin-server/core'
import { createTeam, Team } from '@plugin-server/db'
import { createPluginChainMetrics, IngestPipeline, processEventStep } from '@plugin-server/ingestion'
import type { PluginRuntime } from '@plugin-server/plugin-runtime'
import type { TestDatabase } from '../harness/databases'
import { pluginRuntimeFixture, PluginRuntimeFixture } from '../harness/plugin-runtime-fixture'
import { enablePlugin, writePlugin } from '../harness/plugins'

const AFTER = `export function processEvent(e) { e.properties.after = true; return e }`

describe('processEventStep with plugins exporting processEventBatch', function () {
  this.timeout(60_000)
  let fx: PluginRuntimeFixture
  let db: TestDatabase
  let team: Team
  let otherTeam: Team
  let runtime: PluginRuntime

  beforeEach(async () => {
    fx = await pluginRuntimeFixture({ PLUGIN_PROCESS_EVENT_TIMEOUT_MS: '2000' })
    ;({ db, team } = fx)
    otherTeam = await createTeam(db.pool, 'b')
  })
  afterEach(async () => fx.close())

  const event = (teamId: number, name: string, properties: Record<string, unknown> = {}): IngestEvent => {
    const now = new Date().toISOString()
    return { uuid: randomUUID(), team_id: teamId, event: name, distinct_id: 'u', properties, timestamp: now, now, sent_at: null, ip: null, site_url: '' }
  }

  const enable = async (name: string, code: string, order: number, teamId = team.id) =>
    (await enablePlugin(fx.management, teamId, writePlugin(name, code), {}, { order })).id

  const pipeline = async () => {
    runtime = await fx.start()
    const step = processEventStep(runtime.manager, {
      pool: db.pool,
      logs: runtime.services.logs,
      metrics: createPluginChainMetrics(fx.ctx.registry),
      timeoutMs: fx.ctx.config.plugins.processEventTimeoutMs,
    })
    return { step, stored: new IngestPipeline(db.pool, [step]) }
  }

  const errorLogs = async (configId: number): Promise<string[]> => {
    await runtime.services.logs.flush()
    const { rows } = await db.pool.query<{ message: string }>(
      `SELECT message FROM plugin_log_entries WHERE plugin_config_id = $1 AND type = 'ERROR' ORDER BY id`,
      [configId],
    )
    return rows.map((r) => r.message)
  }

  const warnLogs = async (configId: number): Promise<string[]> => {
    await runtime.services.logs.flush()
    const { rows } = await db.pool.query<{ message: string }>(
      `SELECT message FROM plugin_log_entries WHERE plugin_config_id = $1 AND type = 'WARN' ORDER BY id`,
      [configId],
    )
    return rows.map((r) => r.message)
  }

  it("gets its team's events of the batch in order in one call, and the next plugin gets what it returned", async () => {
    const batcher = await enable(
      'batcher',
      `export function processEventBatch(events) {
        const seen = events.map((e) => e.event).join(',')
        return events.map((e) => ({ ...e, properties: { ...e.properties, seen } }))
      }`,
      1,
    )
    const after = await enable('after', AFTER, 2)
    const { step } = await pipeline()
    const out = await step.run([event(team.id, 'a'), event(otherTeam.id, 'other'), event(team.id, 'b')])
    assert.deepEqual(
      out.map((e) => [e.event, e.properties.seen, e.properties.after]),
      [
        ['a', 'a,b', true],
        ['other', undefined, undefined],
        ['b', 'a,b', true],
      ],
    )
    assert.deepEqual(out[0].properties.$plugins_succeeded, [`batcher (${batcher})`, `after (${after})`])
    assert.deepEqual(out[0].properties.$plugins_failed, [])
  })

  it('drops the events left out of the returned array; they are not stored and later plugins do not see them', async () => {
    await enable('dropper', `export function processEventBatch(events) { return events.filter((e) => !e.properties.drop) }`, 1)
    await enable('after', AFTER, 2)
    const { stored } = await pipeline()
    const result = await stored.process({ events: [event(team.id, 'drop', { drop: true }), event(team.id, 'keep')] })
    assert.deepEqual(result, { received: 2, stored: 1, duplicates: 0, dropped: 1, requeued: 0 })
    const { rows } = await db.pool.query('SELECT event, properties FROM events')
    assert.deepEqual(
      rows.map((r) => [r.event, r.properties.after]),
      [['keep', true]],
    )
  })

  it('gives each event its own changes when the array comes back in another order', async () => {
    await enable(
      'reverser',
      `export function processEventBatch(events) {
        return events.map((e, i) => ({ ...e, properties: { ...e.properties, position: i } })).reverse()
      }`,
      1,
    )
    const { step } = await pipeline()
    const out = await step.run([event(team.id, 'first'), event(team.id, 'second'), event(team.id, 'third')])
    assert.deepEqual(
      out.map((e) => [e.event, e.properties.position]),
      [
        ['first', 0],
        ['second', 1],
        ['third', 2],
      ],
    )
  })

  it('takes a UUID the plugin gives an event, in lower case, and keeps the event’s own uuid for anything else, saying so once in its logs; a changed team is not taken', async () => {
    const renamer = await enable(
      'renamer',
      `export function processEventBatch(events) {
        return events.map((e) => ({ ...e, event: 'renamed', uuid: e.properties.newUuid ?? e.uuid, team_id: e.team_id + 1000 }))
      }`,
      1,
    )
    const after = await enable('after', AFTER, 2)
    const { step } = await pipeline()
    const moved = await step.run([event(team.id, 'a'), event(team.id, 'b')])
    assert.deepEqual(
      moved.map((e) => [e.event, e.team_id]),
      [
        ['renamed', team.id],
        ['renamed', team.id],
      ],
      'the team stays the server’s',
    )
    const given = randomUUID()
    const input = [
      event(team.id, 'a', { newUuid: given.toUpperCase() }),
      event(team.id, 'b', { newUuid: 'not-a-uuid' }),
      event(team.id, 'c', { newUuid: { id: 42 } }),
    ]
    const out = await step.run(input)
    assert.deepEqual(
      out.map((e) => [e.uuid, e.properties.after, e.properties.$plugins_failed]),
      [
        [given, true, []],
        [input[1].uuid, true, []],
        [input[2].uuid, true, []],
      ],
    )
    assert.deepEqual(await errorLogs(renamer), [])
    assert.deepEqual(await warnLogs(renamer), [
      'processEvent returned 2 events whose "uuid" is, e.g., "not-a-uuid", which is not a UUID: the event keeps its own uuid',
    ])
    assert.deepEqual(await warnLogs(after), [], 'the plugin after it only passed the uuid on')
  })

  it('stores two events the plugin gives one uuid once, counting the other as a duplicate', async () => {
    const shared = randomUUID()
    await enable('sharer', `export function processEventBatch(events) { return events.map((e) => ({ ...e, uuid: '${shared}' })) }`, 1)
    const { stored } = await pipeline()
    const result = await stored.process({ events: [event(team.id, 'first'), event(team.id, 'second')] })
    assert.deepEqual(result, { received: 2, stored: 1, duplicates: 1, dropped: 0, requeued: 0 })
    const { rows } = await db.pool.query('SELECT uuid, event FROM events')
    assert.deepEqual(rows, [{ uuid: shared, event: 'first' }])
  })

  it('blames the plugin for every event when it returns more events than it was given', async () => {
    const adder = await enable('adder', `export function processEventBatch(events) { return [...events, { ...events[0], uuid: 'brand-new' }] }`, 1)
    const { step } = await pipeline()
    const out = await step.run([event(team.id, 'a'), event(team.id, 'b')])
    assert.deepEqual(
      out.map((e) => [e.event, e.properties.$plugins_failed]),
      [
        ['a', [`adder (${adder})`]],
        ['b', [`adder (${adder})`]],
      ],
    )
    assert.match((await errorLogs(adder))[0], /processEventBatch returned 3 entries for a batch of 2 events/)
  })

  it('records a result that is not an array as the plugin’s error, on the config too, and the chain goes on', async () => {
    const broken = await enable('broken', `export async function processEventBatch(events) { return { events } }`, 1)
    const after = await enable('after', AFTER, 2)
    const { step } = await pipeline()
    const [out] = await step.run([event(team.id, 'a')])
    assert.deepEqual(out.properties.$plugins_failed, [`broken (${broken})`])
    assert.deepEqual(out.properties.$plugins_succeeded, [`after (${after})`])
    assert.match((await errorLogs(broken))[0], /processEventBatch returned an object, expected an array of events/)
    const { rows } = await db.pool.query('SELECT error FROM plugin_configs WHERE id = $1', [broken])
    assert.equal(rows[0].error.message, 'processEventBatch returned an object, expected an array of events')
  })
})
