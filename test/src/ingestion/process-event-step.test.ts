import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { IngestEvent } from '@plugin-server/core'
import { createTeam, Team } from '@plugin-server/db'
import { createPluginChainMetrics, IngestPipeline, processEventStep, TeamBatchError } from '@plugin-server/ingestion'
import { PluginConfigUnavailableError, PluginRuntime } from '@plugin-server/plugin-runtime'
import { PluginStoreError } from '@plugin-server/plugin-vm'
import { setAttachment, updateConfig } from '@plugin-server/management'
import type { TestDatabase } from '../harness/databases'
import { pluginRuntimeFixture, PluginRuntimeFixture } from '../harness/plugin-runtime-fixture'
import { enablePlugin, writePlugin } from '../harness/plugins'
import { endWaitingQuery, lockTable } from '../harness/table-lock'

const ADD = (label: string) => `export function processEvent(event) {
  event.properties.chain = [...(event.properties.chain ?? []), '${label}']
  return event
}`

describe('processEventStep (the processEvent chain)', function () {
  this.timeout(60_000)
  let fx: PluginRuntimeFixture
  let db: TestDatabase
  let team: Team
  let otherTeam: Team
  let ctx: PluginRuntimeFixture['ctx']
  let management: PluginRuntimeFixture['management']
  let runtime: PluginRuntime | null

  beforeEach(async () => {
    // processEvent runs under its own, lower deadline.
    fx = await pluginRuntimeFixture({ PLUGIN_PROCESS_EVENT_TIMEOUT_MS: '500', PLUGIN_TIMEOUT_MS: '30000' })
    ;({ db, team, ctx, management } = fx)
    otherTeam = await createTeam(db.pool, 'b')
    runtime = null
  })
  afterEach(async () => fx.close())

  const event = (teamId: number, properties: Record<string, unknown> = {}, name = '$pageview'): IngestEvent => {
    const now = new Date().toISOString()
    return { uuid: randomUUID(), team_id: teamId, event: name, distinct_id: 'u', properties, timestamp: now, now, sent_at: null, ip: null, site_url: '' }
  }

  const pipeline = async () => {
    runtime = await fx.start()
    const step = processEventStep(runtime.manager, {
      pool: db.pool,
      logs: runtime.services.logs,
      metrics: createPluginChainMetrics(ctx.registry),
      timeoutMs: ctx.config.plugins.processEventTimeoutMs,
    })
    return { step, stored: new IngestPipeline(db.pool, [step]) }
  }

  it("runs each team's configs in ascending order, each receiving the previous output, and follows order changes", async () => {
    const first = await enablePlugin(management, team.id, writePlugin('first', ADD('first')), {}, { order: 2 })
    await enablePlugin(management, team.id, writePlugin('second', ADD('second')), {}, { order: 1 })
    const { step } = await pipeline()
    const [out] = await step.run([event(team.id)])
    assert.deepEqual(out.properties.chain, ['second', 'first'])
    await updateConfig(management, first.id, { order: 0 })
    await runtime!.manager.refresh()
    const [again] = await step.run([event(team.id)])
    assert.deepEqual(again.properties.chain, ['first', 'second'])
  })

  it('drops events for which a plugin returns nothing, and later plugins do not see them', async () => {
    await enablePlugin(management, team.id, writePlugin('dropper', `export function processEvent(e) { return e.properties.drop ? null : e }`), {}, { order: 1 })
    await enablePlugin(management, team.id, writePlugin('after', ADD('after')), {}, { order: 2 })
    const { stored } = await pipeline()
    const result = await stored.process({ events: [event(team.id, { drop: true }), event(team.id, { n: 1 })] })
    assert.deepEqual(result, { received: 2, stored: 1, duplicates: 0, dropped: 1, requeued: 0 })
    const { rows } = await db.pool.query('SELECT properties FROM events')
    assert.deepEqual(rows[0].properties.chain, ['after'])
  })

  it('keeps the event as it was before a plugin that throws, logs the error and stores it as the last error, and goes on', async () => {
    const failing = await enablePlugin(
      management,
      team.id,
      writePlugin(
        'thrower',
        `export function processEvent(e) { e.properties.half = true; if (e.properties.fail) throw new Error('boom on ' + e.event); return e }`,
      ),
      {},
      { order: 1 },
    )
    await enablePlugin(management, team.id, writePlugin('after', ADD('after')), {}, { order: 2 })
    const { step } = await pipeline()
    const [bad, good] = await step.run([event(team.id, { fail: true }, 'bad one'), event(team.id, {}, 'good one')])
    assert.equal(bad.properties.half, undefined, "the failed plugin's changes are not kept")
    assert.deepEqual(bad.properties.chain, ['after'])
    assert.deepEqual(bad.properties.$plugins_failed, [`thrower (${failing.id})`])
    assert.deepEqual(bad.properties.$plugins_succeeded, [`after (${failing.id + 1})`])
    assert.equal(good.properties.half, true)
    await runtime!.services.logs.flush()
    const logs = await db.pool.query(`SELECT source, type, message FROM plugin_log_entries WHERE plugin_config_id = $1 AND type = 'ERROR'`, [failing.id])
    assert.equal(logs.rows.length, 1)
    assert.match(logs.rows[0].message, /processEvent failed on event "bad one" .*Error: boom on bad one/)
    const { rows } = await db.pool.query('SELECT error FROM plugin_configs WHERE id = $1', [failing.id])
    assert.equal(rows[0].error.message, 'boom on bad one')
    assert.equal(rows[0].error.event, 'bad one')
  })

  it("writes a config's last error at most once every 5 s per worker, however many of its batches fail, and logs every batch's", async () => {
    const failing = await enablePlugin(
      management,
      team.id,
      writePlugin('always-throws', `export function processEvent(e) { throw new Error('boom on ' + e.event) }`),
    )
    const { step } = await pipeline()
    for (let i = 0; i < 5; i++) await step.run([event(team.id, {}, `batch ${i}`)])
    await runtime!.services.logs.flush()
    const { rows } = await db.pool.query('SELECT error FROM plugin_configs WHERE id = $1', [failing.id])
    // Five one-event batches take a few milliseconds each: all within the 5 s of the first write.
    assert.equal(rows[0].error.event, 'batch 0', 'the first failure written, the next ones within 5 s not')
    const logs = await db.pool.query(`SELECT message FROM plugin_log_entries WHERE plugin_config_id = $1 AND type = 'ERROR'`, [failing.id])
    assert.equal(logs.rows.length, 5)
  })

  it("treats a result that is not an event as that plugin's error, saying so", async () => {
    const odd = await enablePlugin(
      management,
      team.id,
      writePlugin('odd', `export function processEvent(e) { return e.properties.kind === 'string' ? 'nope' : { properties: {} } }`),
    )
    const { step } = await pipeline()
    const out = await step.run([event(team.id, { kind: 'string' }), event(team.id, { kind: 'no name' })])
    assert.equal(out.length, 2)
    for (const e of out) assert.deepEqual(e.properties.$plugins_failed, [`odd (${odd.id})`])
    await runtime!.services.logs.flush()
    const { rows } = await db.pool.query(`SELECT message FROM plugin_log_entries WHERE plugin_config_id = $1 AND type = 'ERROR' ORDER BY id`, [odd.id])
    assert.match(rows[0].message, /processEvent returned a string, expected an event or null/)
    assert.match(rows[1].message, /processEvent returned an object without an "event" name, expected an event or null/)
  })

  it("keeps the event's own distinct_id where a plugin returns one capture would refuse (empty, blank, an object), and takes a number as its text", async () => {
    await enablePlugin(management, team.id, writePlugin('ids', `export function processEvent(e) { return { ...e, distinct_id: e.properties.id } }`))
    const { step } = await pipeline()
    const ids = ['', '  \t', { a: 1 }, null, 12.5, 'kept']
    const out = await step.run(ids.map((id) => event(team.id, { id })))
    assert.deepEqual(
      out.map((e) => e.distinct_id),
      ['u', 'u', 'u', 'u', '12.5', 'kept'],
    )
  })

  it('runs async plugins, and plugins that return a new object or mutate their argument', async () => {
    await enablePlugin(
      management,
      team.id,
      writePlugin(
        'async-new',
        `export async function processEvent(e) { await new Promise((r) => setTimeout(r, 5)); return { ...e, event: e.event + '!', properties: { ...e.properties, fresh: true } } }`,
      ),
      {},
      { order: 1 },
    )
    await enablePlugin(
      management,
      team.id,
      writePlugin('mutator', `export function processEvent(e) { e.properties.mutated = true; e.distinct_id = 'changed'; return e }`),
      {},
      { order: 2 },
    )
    const { step } = await pipeline()
    const [out] = await step.run([event(team.id, { keep: 1 })])
    assert.equal(out.event, '$pageview!')
    assert.equal(out.distinct_id, 'changed')
    assert.equal(out.properties.keep, 1)
    assert.equal(out.properties.fresh, true)
    assert.equal(out.properties.mutated, true)
  })

  it('lets $snapshot events bypass processEvent entirely', async () => {
    await enablePlugin(management, team.id, writePlugin('adder', ADD('adder')))
    const { step } = await pipeline()
    const [snapshot] = await step.run([event(team.id, { $snapshot_data: {} }, '$snapshot')])
    assert.deepEqual(snapshot.properties, { $snapshot_data: {} })
  })

  it('lists succeeded, failed and deferred plugins as "<name> (<config id>)"', async () => {
    const adder = await enablePlugin(management, team.id, writePlugin('adder', ADD('adder')), {}, { order: 1 })
    const exporter = await enablePlugin(management, team.id, writePlugin('exporter', `export function onEvent() {}`), {}, { order: 2 })
    const webhook = await enablePlugin(management, team.id, writePlugin('webhook', `export function composeWebhook() { return null }`), {}, { order: 3 })
    const { step } = await pipeline()
    const [out] = await step.run([event(team.id)])
    assert.deepEqual(out.properties.$plugins_succeeded, [`adder (${adder.id})`])
    assert.deepEqual(out.properties.$plugins_failed, [])
    assert.deepEqual(out.properties.$plugins_deferred, [`exporter (${exporter.id})`, `webhook (${webhook.id})`])
  })

  it("never changes the job's own events, whether a plugin succeeded on them or every plugin failed", async () => {
    await enablePlugin(management, team.id, writePlugin('adder', ADD('adder')), {}, { order: 1 })
    await enablePlugin(management, otherTeam.id, writePlugin('always-throws', `export function processEvent() { throw new Error('no') }`))
    const { step } = await pipeline()
    const inputs = [event(team.id, { kept: 1 }), event(otherTeam.id, { kept: 2 })]
    const [succeeded, failed] = await step.run(inputs)
    assert.deepEqual(succeeded.properties.chain, ['adder'])
    assert.equal((failed.properties.$plugins_failed as string[]).length, 1)
    assert.deepEqual(inputs[0].properties, { kept: 1 }, 'the chain wrote into a decoded copy')
    assert.deepEqual(inputs[1].properties, { kept: 2 }, 'the failed-everywhere event was copied before its $plugins_* were set')
  })

  it('returns the events of several teams in the batch order, without the dropped ones', async () => {
    await enablePlugin(management, team.id, writePlugin('dropper', `export function processEvent(e) { return e.properties.drop ? null : e }`))
    await enablePlugin(management, otherTeam.id, writePlugin('team-b-plugin', ADD('b')))
    const { step } = await pipeline()
    const names = ['a1', 'b1', 'a2', 'b2', 'a3']
    const inputs = names.map((name, i) => event(name[0] === 'a' ? team.id : otherTeam.id, { drop: i === 2 }, name))
    const out = await step.run(inputs)
    assert.deepEqual(
      out.map((e) => e.event),
      ['a1', 'b1', 'b2', 'a3'],
    )
  })

  it("keeps two teams apart: each team's events go through its own plugins only", async () => {
    await enablePlugin(management, team.id, writePlugin('team-a-plugin', ADD('a')))
    await enablePlugin(
      management,
      otherTeam.id,
      writePlugin('team-b-plugin', `export function processEvent(e, { cache }) { e.properties.chain = ['b']; return e }`),
    )
    const { step } = await pipeline()
    const out = await step.run([event(team.id), event(otherTeam.id), event(team.id)])
    assert.deepEqual(
      out.map((e) => e.properties.chain),
      [['a'], ['b'], ['a']],
    )
  })

  it('runs several parts of a team (runParts) through each config in one call, and gives each part back its own events', async () => {
    await enablePlugin(
      management,
      team.id,
      writePlugin(
        'counts its batch',
        `export function processEventBatch(events) { return events.map((e) => ({ ...e, properties: { ...e.properties, batch: events.length } })) }`,
      ),
      {},
      { order: 1 },
    )
    await enablePlugin(management, team.id, writePlugin('dropper', `export function processEvent(e) { return e.properties.drop ? null : e }`), {}, { order: 2 })
    const { step } = await pipeline()
    const parts = [
      [event(team.id, { part: 1, n: 1 }), event(team.id, { part: 1, n: 2, drop: true })],
      [event(team.id, { part: 2, n: 1, drop: true })],
      [event(team.id, { part: 3, n: 1 }), event(team.id, { part: 3, n: 2 })],
    ]
    const out = await step.runParts!(parts)
    assert.deepEqual(
      out.map((part) => part.map((e) => [e.properties.part, e.properties.n, e.properties.batch])),
      [
        [[1, 1, 5]],
        [],
        [
          [3, 1, 5],
          [3, 2, 5],
        ],
      ],
    )
  })

  it("reads a zone-less timestamp a plugin sets as UTC, not the ingest worker's local time (TZ=Australia/Lord_Howe, +10:30/+11)", async () => {
    await enablePlugin(management, team.id, writePlugin('restamp', `export function processEvent(e) { e.timestamp = e.properties.at; return e }`))
    const { stored } = await pipeline()
    const previous = process.env.TZ
    process.env.TZ = 'Australia/Lord_Howe'
    try {
      const zoneless = event(team.id, { at: '2024-05-01 12:00:00' })
      const nanos = event(team.id, { at: '2024-05-01T12:00:00.123456789012' })
      await stored.process({ events: [zoneless, nanos] })
      const { rows } = await db.pool.query<{ uuid: string; timestamp: Date }>('SELECT uuid, timestamp FROM events')
      const at = (uuid: string) => rows.find((r) => r.uuid === uuid)!.timestamp.toISOString()
      assert.equal(at(zoneless.uuid), '2024-05-01T12:00:00.000Z')
      assert.equal(at(nanos.uuid), '2024-05-01T12:00:00.123Z')
    } finally {
      if (previous === undefined) delete process.env.TZ
      else process.env.TZ = previous
    }
  })

  it('fails only the plugin that exceeds its processEvent deadline; the batch completes for the others', async () => {
    const slow = await enablePlugin(
      management,
      team.id,
      writePlugin('slow', `export function processEvent(e) { if (e.properties.hang) { while (true) {} } return e }`),
      {},
      { order: 1 },
    )
    await enablePlugin(management, team.id, writePlugin('after', ADD('after')), {}, { order: 2 })
    await enablePlugin(management, otherTeam.id, writePlugin('other-team', ADD('other')))
    const { step } = await pipeline()
    const out = await step.run([event(team.id, { hang: true }), event(team.id), event(otherTeam.id)])
    assert.equal(out.length, 3)
    assert.deepEqual(out[0].properties.$plugins_failed, [`slow (${slow.id})`])
    assert.deepEqual(out[0].properties.chain, ['after'])
    assert.deepEqual(out[2].properties.chain, ['other'])
    await runtime!.services.logs.flush()
    const { rows } = await db.pool.query(`SELECT message FROM plugin_log_entries WHERE plugin_config_id = $1 AND type = 'ERROR'`, [slow.id])
    assert.match(rows[0].message, new RegExp(`plugin slow \\(config ${slow.id}\\) exceeded its time limit \\(500 ms\\)`))
    const [next] = await step.run([event(team.id)])
    assert.deepEqual(next.properties.$plugins_succeeded, [`slow (${slow.id})`, `after (${slow.id + 1})`], 'the isolate is recycled')
  })
  /** The team's part of `process` rejected; what it was rejected with. */
  async function teamFailure(processing: Promise<unknown>, teamId: number): Promise<{ error: Error; stored: number }> {
    const err = await processing.then(
      () => assert.fail('the batch was stored'),
      (e: unknown) => e,
    )
    assert.ok(err instanceof TeamBatchError, String(err))
    assert.deepEqual(
      err.failures.map((f) => f.teamId),
      [teamId],
    )
    return { error: err.failures[0].error, stored: err.result.stored }
  }

  it("fails the team's part for a retry, not keeping it unenriched, when its plugin fails because Postgres refused a meta.storage write; other teams are stored", async () => {
    const storing = await enablePlugin(
      management,
      team.id,
      writePlugin('stores', `export async function processEvent(e, { storage }) { await storage.set('last', e.uuid); e.properties.enriched = true; return e }`),
    )
    await enablePlugin(management, otherTeam.id, writePlugin('other-team', ADD('other')))
    const { stored } = await pipeline()
    // What a standby or a read-only database answers: SQLSTATE 25006.
    await db.pool.query(`CREATE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'cannot execute INSERT in a read-only transaction' USING ERRCODE = '25006'; END $$`)
    await db.pool.query(`CREATE TRIGGER read_only BEFORE INSERT OR UPDATE ON plugin_storage FOR EACH ROW EXECUTE FUNCTION refuse_write()`)
    const mine = event(team.id)
    const { error, stored: others } = await teamFailure(stored.process({ events: [mine, event(otherTeam.id)] }), team.id)
    assert.ok(error instanceof PluginStoreError, String(error))
    assert.match(error.message, /processEvent failed on 1 of 1 events while Postgres is read-only \(25006: cannot execute INSERT in a read-only transaction\)/)
    assert.equal(others, 1, "the other team's event is stored")
    const { rows: kept } = await db.pool.query('SELECT team_id FROM events')
    assert.deepEqual(
      kept.map((r) => r.team_id),
      [otherTeam.id],
    )
    await runtime!.services.logs.flush()
    const { rows: logs } = await db.pool.query(
      `SELECT source, type, message FROM plugin_log_entries WHERE plugin_config_id = $1 AND type IN ('WARN', 'ERROR')`,
      [storing.id],
    )
    assert.deepEqual(
      logs.map((l) => [l.source, l.type]),
      [['SYSTEM', 'WARN']],
    )
    assert.match(logs[0].message, /while Postgres is read-only .*; the batch is retried, its events are stored once the store is back$/)
    const { rows: config } = await db.pool.query('SELECT error FROM plugin_configs WHERE id = $1', [storing.id])
    assert.equal(config[0].error, null, "a store's failure is not the config's error")

    await db.pool.query('DROP TRIGGER read_only ON plugin_storage')
    await stored.process({ events: [mine] })
    const { rows } = await db.pool.query('SELECT properties FROM events WHERE uuid = $1', [mine.uuid])
    assert.equal(rows[0].properties.enriched, true, 'the retry enriched the event')
  })

  it("fails the team's part for a retry, not storing it without the plugin, when the server cannot load its evicted config again (Postgres fails reading its attachments)", async () => {
    // Room for one isolate: loading the other team's plugin evicts this one, loaded again under the next batch.
    const own = await pluginRuntimeFixture({ PLUGIN_MAX_LIVE_INSTANCES: '1' })
    try {
      const other = await createTeam(own.db.pool, 'b')
      const withFile = await enablePlugin(
        own.management,
        own.team.id,
        writePlugin('with-file', `export function processEvent(e, { attachments }) { e.properties.file = attachments.list.contents.toString(); return e }`, [
          { key: 'list', type: 'attachment' },
        ]),
      )
      await setAttachment(own.management, withFile.id, { key: 'list', file_name: 'list.txt', content_type: 'text/plain', contents: Buffer.from('listed') })
      await enablePlugin(own.management, other.id, writePlugin('other-team', ADD('other')))
      const runtime = await own.start()
      const step = processEventStep(runtime.manager, {
        pool: own.db.pool,
        logs: runtime.services.logs,
        metrics: createPluginChainMetrics(own.ctx.registry),
        timeoutMs: own.ctx.config.plugins.processEventTimeoutMs,
      })
      const stored = new IngestPipeline(own.db.pool, [step])
      await stored.process({ events: [event(own.team.id)] })
      await stored.process({ events: [event(other.id)] })

      const lock = await lockTable(own.db.pool, 'plugin_attachments')
      const mine = event(own.team.id)
      const failed = teamFailure(stored.process({ events: [mine] }), own.team.id).finally(() => lock.release())
      await endWaitingQuery(own.db.pool, 'SELECT key, content_type, file_name, contents FROM plugin_attachments')
      const { error } = await failed
      assert.ok(error instanceof PluginConfigUnavailableError, String(error))
      assert.match(error.message, new RegExp(`could not be loaded, tried again with the batch: with-file \\(${withFile.id}\\): terminating connection`))
      const { rows: none } = await own.db.pool.query('SELECT 1 FROM events WHERE uuid = $1', [mine.uuid])
      assert.equal(none.length, 0, 'not stored without the plugin')

      await stored.process({ events: [mine] })
      const { rows } = await own.db.pool.query('SELECT properties FROM events WHERE uuid = $1', [mine.uuid])
      assert.equal(rows[0].properties.file, 'listed', 'the retry ran the plugin')
      assert.deepEqual(rows[0].properties.$plugins_failed, [])
    } finally {
      await own.close()
    }
  })

  it("fails the team's part for a retry when its plugin's job is refused by Redis at maxmemory (OOM), and enriches it once Redis takes writes", async () => {
    await enablePlugin(
      management,
      team.id,
      writePlugin(
        'enqueues',
        `export async function processEvent(e, { jobs }) { await jobs.later({ uuid: e.uuid }).runNow(); e.properties.enriched = true; return e }
         export const jobs = { later: async () => {} }`,
      ),
    )
    const { stored } = await pipeline()
    const admin = ctx.newRedisConnection('maxmemory')
    const [, policy] = (await admin.config('GET', 'maxmemory-policy')) as string[]
    const [, maxmemory] = (await admin.config('GET', 'maxmemory')) as string[]
    const mine = event(team.id)
    let failure: { error: Error }
    try {
      await admin.config('SET', 'maxmemory-policy', 'noeviction')
      await admin.config('SET', 'maxmemory', '1')
      failure = await teamFailure(stored.process({ events: [mine] }), team.id)
    } finally {
      await admin.config('SET', 'maxmemory', maxmemory)
      await admin.config('SET', 'maxmemory-policy', policy)
    }
    assert.ok(failure.error instanceof PluginStoreError, String(failure.error))
    assert.match(failure.error.message, /processEvent failed on 1 of 1 events while Redis refused the command \(OOM command not allowed/)
    assert.equal((await db.pool.query('SELECT count(*)::int AS n FROM events')).rows[0].n, 0)
    await stored.process({ events: [mine] })
    const { rows } = await db.pool.query('SELECT properties FROM events WHERE uuid = $1', [mine.uuid])
    assert.equal(rows[0].properties.enriched, true, 'the retry enriched the event')
  })
})
