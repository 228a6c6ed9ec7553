import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { createConfig, installPluginFromPath, ManagementError } from '@plugin-server/management'
import type { MemoryCache } from '@plugin-server/plugin-vm'
import {
  MAX_TRY_ATTACHMENT_BYTES,
  MAX_TRY_HELD_BYTES,
  MAX_TRY_SOCKETS,
  TRY_RUN_ISOLATE_LIMITS,
  TryContext,
  TryGate,
  tryEvent,
  TryRefusedError,
  TryResult,
  TryStep,
} from '@plugin-server/try-it'
import { setTeamAnonymizeIps } from '@plugin-server/db'
import { writePlugin } from '../harness/plugins'
import { REPO_ROOT } from '../harness/processes'
import { createTeamRow, FIXTURES, ManagementHarness, SECRET, startManagement, WITH_ATTACHMENT } from '../management/management-fixture'

const ENRICHER = path.join(FIXTURES, 'try-enricher')
const TAGGER = path.join(FIXTURES, 'try-tagger')
const FETCHER = path.join(FIXTURES, 'try-fetcher')
const UI_ENRICHER = path.join(FIXTURES, 'ui-enricher')
const WEBHOOK_TOKEN = 'whk_9d8c7b6a5f4e3d2c'

function stepsOf(result: TryResult): string[] {
  return result.steps.map((s) => `${s.plugin}.${s.method}`)
}

function step(result: TryResult, plugin: string, method: string): TryStep {
  const found = result.steps.find((s) => s.plugin === plugin && s.method === method)
  assert.ok(found, `no ${plugin}.${method} step in ${stepsOf(result).join(', ')}`)
  return found
}

/** An attachment as request bodies give it. */
function file(file_name: string, contents: string | Buffer, content_type?: string): Record<string, string> {
  return { file_name, contents_base64: Buffer.from(contents).toString('base64'), ...(content_type ? { content_type } : {}) }
}

function assertNoSecret(result: unknown): void {
  const text = JSON.stringify(result)
  assert.ok(!text.includes(SECRET), `the result holds the secret: ${text}`)
  assert.ok(!text.includes(WEBHOOK_TOKEN), `the result holds the webhook token: ${text}`)
}

describe('tryEvent (Try it: a dry run of plugins on a sample event)', function () {
  this.timeout(60_000)
  let h: ManagementHarness
  let teamId: number
  let ctx: TryContext
  let enricherId: number
  let cachePrefix: string

  async function configure(dir: string, config: Record<string, string>, options: { enabled?: boolean; team?: number; order?: number } = {}): Promise<number> {
    const installed = await installPluginFromPath(h.ctx, dir)
    const view = await createConfig(h.ctx, {
      teamId: options.team ?? teamId,
      plugin: installed.plugin.id,
      config,
      enabled: options.enabled ?? true,
      order: options.order,
    })
    return view.id
  }

  async function run(event: unknown, target: unknown, extra: Partial<TryContext> = {}): Promise<TryResult> {
    const result = await tryEvent({ ...ctx, ...extra }, { teamId, event, target })
    assertNoSecret(result)
    return result
  }

  beforeEach(async () => {
    h = await startManagement()
    teamId = await createTeamRow(h, 'try')
    ctx = { ...h.ctx }
    enricherId = await configure(ENRICHER, { apiKey: SECRET, greeting: 'hi' }, { enabled: false })
    const { rows } = await h.db.pool.query<{ plugin_id: number }>('SELECT plugin_id FROM plugin_configs WHERE id = $1', [enricherId])
    cachePrefix = `${h.ctx.queuePrefix}:cache:${rows[0].plugin_id}:${teamId}:`
  })

  afterEach(async () => {
    assert.ok(!h.logText().includes(SECRET), 'no log line holds the secret')
    await h.close()
  })

  it("shows the address stored as $ip after the plugins, as the worker stores it, and gives a team that anonymises IPs' plugins none", async () => {
    const reader = await configure(path.join(FIXTURES, 'ip-reader'), {})
    const shown = await run({ event: 'e', ip: '203.0.113.7', properties: {} }, { plugin_config_id: reader })
    assert.deepEqual([shown.output?.ip, shown.output?.properties?.seen_ip, shown.output?.properties?.$ip], ['203.0.113.7', '203.0.113.7', '203.0.113.7'])
    await setTeamAnonymizeIps(h.db.pool, teamId, true)
    const anonymised = await run({ event: 'e', ip: '203.0.113.7', properties: {} }, { plugin_config_id: reader })
    assert.deepEqual(
      [anonymised.output?.ip, anonymised.output?.properties?.seen_ip, Object.hasOwn(anonymised.output?.properties ?? {}, '$ip')],
      [null, null, false],
    )
  })

  it('runs a config (disabled too) with its stored secret, answers reads for real and performs no write', async () => {
    await h.ctx.redis.set(`${cachePrefix}stored`, JSON.stringify('from redis'))
    await h.ctx.redis.set(`${cachePrefix}counter`, '41')
    await h.ctx.redis.set(`${h.ctx.queuePrefix}:cursor:${enricherId}:page`, '7')
    await h.db.pool.query(`INSERT INTO plugin_storage (plugin_config_id, key, value) VALUES ($1, 'kept', '"from postgres"')`, [enricherId])
    const keysBefore = (await h.ctx.redis.keys(`${h.ctx.queuePrefix}*`)).sort()

    const result = await run({ event: '$pageview', distinct_id: 'u1', ip: '89.160.20.128', properties: { path: '/' } }, { plugin_config_id: enricherId })

    assert.deepEqual(stepsOf(result), ['try-enricher.setupPlugin', 'try-enricher.processEvent', 'try-enricher.onEvent', 'try-enricher.teardownPlugin'])
    assert.equal(result.dropped, false)
    assert.equal(result.input.team_id, teamId)
    const props = result.output?.properties as Record<string, unknown>
    assert.equal(props.greeting, 'hi')
    assert.equal(props.stored, 'from redis', 'cache.get is answered from Redis')
    assert.deepEqual(props.seen_after_write, { by: '$pageview' }, 'the plugin sees its own write within the run')
    assert.equal(props.counter, 42)
    assert.equal(props.kept, 'from postgres', 'storage.get is answered from Postgres')
    assert.equal(props.cursor, 8)
    assert.equal(props.country, 'SE', 'the GeoIP lookup is answered')
    assert.deepEqual(props.$plugins_succeeded, [`try-enricher (${enricherId})`])
    assert.deepEqual(props.$plugins_deferred, [`try-enricher (${enricherId})`])
    assert.equal(result.output?.uuid, result.input.uuid)

    const processing = step(result, 'try-enricher', 'processEvent')
    assert.equal(processing.error, null)
    assert.equal(processing.plugin_config_id, enricherId)
    assert.deepEqual(processing.logs, [{ level: 'info', message: 'processing with key [secret]' }])
    assert.deepEqual(step(result, 'try-enricher', 'setupPlugin').logs, [{ level: 'log', message: 'setting up with key [secret]' }])
    // The first call of each kind (cache.get is called twice). A read shows its key and the value stored: the
    // default is the sandbox's to apply, and never reaches the host.
    const calls = Object.fromEntries([...processing.host_calls].reverse().map((c) => [c.call, c]))
    assert.deepEqual(calls['cache.get'], { call: 'cache.get', args: ['stored'], performed: true, result: 'from redis' })
    assert.deepEqual(calls['cache.set'], { call: 'cache.set', args: ['written', { by: '$pageview' }, 60], performed: false })
    assert.deepEqual(calls['cache.incr'], { call: 'cache.incr', args: ['counter'], performed: false, result: 42 })
    assert.equal(calls['storage.set'].performed, false)
    assert.equal(calls['cursor.increment'].performed, false)
    assert.deepEqual(calls.capture, { call: 'capture', args: ['enriched', { source: '$pageview', key: '[secret]' }], performed: false })
    assert.equal(calls.jobs.performed, false)
    assert.equal((calls.jobs.args[0] as { name: string }).name, 'followUp')
    assert.deepEqual(calls.metrics, { call: 'metrics', args: ['enriched', 'sum', 1], performed: false })
    assert.deepEqual([calls.geoip.args, calls.geoip.performed], [['89.160.20.128'], true])
    assert.match(step(result, 'try-enricher', 'onEvent').logs[0].message, /^onEvent saw \$pageview with greeting hi$/)

    // Nothing was written: no Redis key (cache, cursor, jobs queue, metrics), no storage row, no log row.
    assert.deepEqual((await h.ctx.redis.keys(`${h.ctx.queuePrefix}*`)).sort(), keysBefore)
    assert.equal(await h.ctx.redis.get(`${cachePrefix}counter`), '41')
    const { rows: storage } = await h.db.pool.query('SELECT key, value FROM plugin_storage WHERE plugin_config_id = $1', [enricherId])
    assert.deepEqual(storage, [{ key: 'kept', value: 'from postgres' }])
    assert.equal((await h.db.pool.query('SELECT 1 FROM plugin_log_entries')).rowCount, 0)
  })

  it('a plugin returning null drops the event and ends the run', async () => {
    const result = await run({ event: 'drop' }, { plugin_config_id: enricherId })
    assert.equal(result.dropped, true)
    assert.equal(result.output, null)
    assert.equal(step(result, 'try-enricher', 'processEvent').output, null)
    assert.deepEqual(stepsOf(result), ['try-enricher.setupPlugin', 'try-enricher.processEvent', 'try-enricher.teardownPlugin'])
  })

  it("runs the team's enabled configs in order, each on the previous one's output, and shows the composed webhook unsent", async () => {
    await h.db.pool.query('UPDATE plugin_configs SET enabled = true, "order" = 2 WHERE id = $1', [enricherId])
    const taggerId = await configure(TAGGER, { token: WEBHOOK_TOKEN }, { order: 1 })
    await configure(FETCHER, { url: 'http://127.0.0.1:9' }, { enabled: false })

    const result = await run({ event: 'signup', properties: { order: ['client'] } }, { chain: true })

    assert.deepEqual(stepsOf(result), [
      'try-tagger.processEvent',
      'try-enricher.setupPlugin',
      'try-enricher.processEvent',
      'try-tagger.composeWebhook',
      'try-enricher.onEvent',
      'try-enricher.teardownPlugin',
    ])
    const props = result.output?.properties as Record<string, unknown>
    assert.deepEqual(props.order, ['client', 'tagger', 'enricher'])
    assert.deepEqual(props.$plugins_succeeded, [`try-tagger (${taggerId})`, `try-enricher (${enricherId})`])
    assert.deepEqual(props.$plugins_failed, [])
    assert.deepEqual(step(result, 'try-tagger', 'composeWebhook').output, {
      url: 'https://hooks.example.invalid/ingest?token=[secret]',
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer [redacted]' },
      body: JSON.stringify({ event: 'signup', order: ['client', 'tagger', 'enricher'] }),
      sent: false,
    })
  })

  it('a plugin that throws is a failed step; the chain goes on with the event as it was', async () => {
    await h.db.pool.query('UPDATE plugin_configs SET enabled = true WHERE id = $1', [enricherId])
    await configure(TAGGER, {})
    const result = await run({ event: 'throw' }, { chain: true })
    const failed = step(result, 'try-enricher', 'processEvent')
    assert.equal(failed.error, 'Error: the API rejected key [secret]')
    assert.equal(step(result, 'try-tagger', 'processEvent').error, null)
    const props = result.output?.properties as Record<string, unknown>
    assert.deepEqual(props.$plugins_failed, [`try-enricher (${enricherId})`])
    assert.equal(props.tagged, true)
  })

  it('sends GET requests through the fetch policy and holds every other request back', async () => {
    const seen: string[] = []
    const server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`)
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ plan: 'pro' }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const fetcherId = await configure(FETCHER, { url }, { enabled: false })

      const allowed = await run({ event: 'e', distinct_id: 'u7' }, { plugin_config_id: fetcherId }, { settings: { fetchAllowedHosts: ['127.0.0.1'] } })
      assert.deepEqual(seen, ['GET /lookup?id=u7'], 'the GET was sent and the POST was not')
      const props = allowed.output?.properties as Record<string, unknown>
      assert.deepEqual(props.lookup, { status: 200, body: { plan: 'pro' } })
      assert.match(String(props.post_error), /^fetch: POST http:\/\/127\.0\.0\.1:\d+ was not sent: this is a dry run/)
      const calls = step(allowed, 'try-fetcher', 'processEvent').host_calls
      assert.deepEqual(
        calls.map((c) => [c.call, c.performed]),
        [
          ['fetch', true],
          ['fetch', false],
        ],
      )
      assert.deepEqual((calls[0].result as { status: number; body: string }).status, 200)
      assert.deepEqual(calls[1].args[1], { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"event":"e"}' })
      assert.match(String(calls[1].not_sent), /was not sent/)
      assert.equal(calls[1].error, undefined, 'a request the dry run held back is not an error')

      // Without an allowlist, loopback is refused exactly as on the workers.
      seen.length = 0
      const refused = await run({ event: 'e' }, { plugin_config_id: fetcherId })
      assert.deepEqual(seen, [])
      assert.match(String((refused.output?.properties as Record<string, unknown>).lookup_error), /fetch refused: 127\.0\.0\.1 is a loopback address/)
      const get = step(refused, 'try-fetcher', 'processEvent').host_calls[0]
      assert.deepEqual([get.call, get.performed], ['fetch', false])
      assert.match(String(get.error), /fetch refused/)
    } finally {
      server.close()
    }
  })

  it('runs a plugin the team has not configured, with given values checked like a new config and empty namespaces', async () => {
    await h.ctx.redis.set(`${cachePrefix}stored`, JSON.stringify('from redis'))
    const result = await run({ event: 'e' }, { plugin_id: 'try-enricher', config: { apiKey: SECRET } })
    assert.equal(step(result, 'try-enricher', 'processEvent').plugin_config_id, null)
    const props = result.output?.properties as Record<string, unknown>
    assert.equal(props.greeting, 'hello', 'the default applies')
    assert.equal(props.stored, 'nothing stored', 'a plugin without a config reads nothing')
    assert.deepEqual(props.$plugins_succeeded, ['try-enricher (new)'])

    await assert.rejects(
      () => tryEvent(ctx, { teamId, event: { event: 'e' }, target: { plugin_id: 'try-enricher', config: {} } }),
      (err: ManagementError) => err.status === 400 && err.field === 'config.apiKey' && /"apiKey" is required/.test(err.message),
    )
    await assert.rejects(
      () => tryEvent(ctx, { teamId, event: { event: 'e' }, target: { plugin_id: 'no-such-plugin' } }),
      (err: ManagementError) => err.status === 404 && err.field === 'target.plugin_id',
    )
  })

  it('runs a plugin the team has not configured with given attachments, as meta.attachments, checked like a new config', async () => {
    await installPluginFromPath(h.ctx, UI_ENRICHER)
    const config = { greeting: 'Hi', apiKey: SECRET }
    const lookup = file('lookup.csv', 'u1,platinum\nu2,bronze\n', 'text/csv')
    const result = await run({ event: 'e', distinct_id: 'u1' }, { plugin_id: 'ui-enricher', config, attachments: { lookup } })
    assert.deepEqual(step(result, 'ui-enricher', 'setupPlugin').logs, [{ level: 'info', message: 'setup: 2 lookup entries, failExports=no' }])
    const props = result.output?.properties as Record<string, unknown>
    assert.equal(props.segment, 'platinum', 'processEvent read the segment from the attachment')
    assert.equal(props.greeting, 'HI')
    // The content type defaults as on POST /configs; a JSON file name is read as JSON by the plugin.
    const json = await run(
      { event: 'e', distinct_id: 'u3' },
      { plugin_id: 'ui-enricher', config, attachments: { lookup: file('lookup.json', '{"u3":"gold"}') } },
    )
    assert.equal((json.output?.properties as Record<string, unknown>).segment, 'gold')
    assert.equal((await h.db.pool.query('SELECT 1 FROM plugin_attachments')).rowCount, 0, 'nothing was stored')

    await installPluginFromPath(h.ctx, WITH_ATTACHMENT)
    const rules = await run({ event: 'e' }, { plugin_id: 'management-attachment', attachments: { rules: file('rules.json', '{"a":1,"b":2,"c":3}') } })
    assert.equal((rules.output?.properties as Record<string, unknown>).rule_count, 3)

    const cases: [unknown, string, RegExp][] = [
      [{ plugin_id: 'management-attachment' }, 'attachments.rules', /config field "rules" is required: upload an attachment for it/],
      [{ plugin_id: 'management-attachment', attachments: {} }, 'attachments.rules', /"rules" is required/],
      [{ plugin_id: 'ui-enricher', config, attachments: { nope: lookup } }, 'attachments.nope', /"nope" does not exist in plugin.json/],
      [{ plugin_id: 'ui-enricher', config, attachments: { greeting: lookup } }, 'attachments.greeting', /"greeting" is not an attachment field/],
      [{ plugin_id: 'ui-enricher', config: { ...config, lookup: 'x' } }, 'config.lookup', /"lookup" is an attachment/],
      [{ plugin_id: 'ui-enricher', config, attachments: [lookup] }, 'attachments', /must be an object of field key/],
      [{ plugin_id: 'ui-enricher', config, attachments: { lookup: { file_name: 'l.csv' } } }, 'attachments.lookup.contents_base64', /is required/],
      [{ plugin_id: 'ui-enricher', config, attachments: { lookup: { contents_base64: '' } } }, 'attachments.lookup.file_name', /is required/],
      [{ plugin_config_id: enricherId, attachments: { lookup } }, 'attachments', /only be given with target.plugin_id/],
      [
        { plugin_id: 'ui-enricher', config, attachments: { lookup: file('big.csv', Buffer.alloc(MAX_TRY_ATTACHMENT_BYTES + 1, 'a')) } },
        'attachments',
        /attachments are 10485761 bytes in all; a dry run takes at most 10485760/,
      ],
    ]
    for (const [target, field, message] of cases) {
      await assert.rejects(
        () => tryEvent(ctx, { teamId, event: { event: 'e' }, target }),
        (err: ManagementError) => err instanceof ManagementError && err.status === 400 && err.field === field && message.test(err.message),
        `${JSON.stringify(target).slice(0, 200)} → ${field}`,
      )
    }
  })

  it("scrubs a secret attachment's key from what a run returns, given with the request or stored with a config", async () => {
    const privateKey = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n'
    const dir = writePlugin(
      'key-logger',
      `export function processEvent(e, { attachments }) { console.log(attachments.key.contents.toString()); e.properties.key = JSON.parse(attachments.key.contents.toString()).private_key; return e }`,
      [{ key: 'key', type: 'attachment', secret: true }],
    )
    const keyFile = JSON.stringify({ type: 'service_account', private_key: privateKey })
    await installPluginFromPath(h.ctx, dir)
    const given = await run({ event: 'e' }, { plugin_id: 'key-logger', attachments: { key: file('key.json', keyFile) } })
    const stored = await configure(dir, {})
    await h.db.pool.query(
      `INSERT INTO plugin_attachments (plugin_config_id, key, content_type, file_name, contents) VALUES ($1, 'key', 'application/json', 'key.json', $2)`,
      [stored, Buffer.from(keyFile)],
    )
    const fromStore = await run({ event: 'e' }, { plugin_config_id: stored })
    for (const result of [given, fromStore]) {
      const text = JSON.stringify(result)
      assert.ok(text.includes('service_account'), 'the plugin logged the file')
      assert.doesNotMatch(text, /MIIEvQIBADANBgkqhkiG9w0BAQEFAASC|BEGIN PRIVATE KEY/)
    }
  })

  it('refuses bad events and targets naming the field, and configs of other teams with 403', async () => {
    const cases: [unknown, unknown, string][] = [
      ['not an object', { chain: true }, 'event'],
      [{ properties: {} }, { chain: true }, 'event.event'],
      [{ event: 'e', timestamp: 'yesterday' }, { chain: true }, 'event.timestamp'],
      [{ event: 'e', properties: [1] }, { chain: true }, 'event.properties'],
      [{ event: 'e' }, undefined, 'target'],
      [{ event: 'e' }, { chain: true, plugin_config_id: 1 }, 'target'],
      [{ event: 'e' }, { plugin_config_id: 'x' }, 'target.plugin_config_id'],
      [{ event: 'e' }, { plugin_config_id: enricherId, config: { apiKey: 'x' } }, 'config'],
    ]
    for (const [event, target, field] of cases) {
      await assert.rejects(
        () => tryEvent(ctx, { teamId, event, target }),
        (err: ManagementError) => err.status === 400 && err.field === field,
        `${JSON.stringify(event)} / ${JSON.stringify(target)} → ${field}`,
      )
    }
    const other = await createTeamRow(h, 'other')
    await assert.rejects(
      () => tryEvent(ctx, { teamId: other, event: { event: 'e' }, target: { plugin_config_id: enricherId } }),
      (err: TryRefusedError) => err instanceof TryRefusedError && err.status === 403 && err.field === 'target.plugin_config_id',
    )
  })

  it('keeps to its deadline and lets at most two runs in at once', async () => {
    const fetcherId = await configure(FETCHER, { url: 'http://127.0.0.1:9' }, { enabled: false })
    const slow = { event: 'e', properties: { sleep_ms: 3000 } }
    const late = await run(slow, { plugin_config_id: fetcherId }, { deadlineMs: 300 })
    assert.match(String(step(late, 'try-fetcher', 'processEvent').error), /exceeded its time limit .*the dry run's 300 ms/)

    // Two teams: one team may hold only one of the two slots.
    const other = await createTeamRow(h, 'other')
    const otherFetcher = await configure(FETCHER, { url: 'http://127.0.0.1:9' }, { enabled: false, team: other })
    const gate = new TryGate(2, 100)
    const running = [
      run(slow, { plugin_config_id: fetcherId }, { gate }),
      tryEvent({ ...ctx, gate }, { teamId: other, event: slow, target: { plugin_config_id: otherFetcher } }),
    ]
    await new Promise((resolve) => setTimeout(resolve, 200))
    await assert.rejects(
      () => tryEvent({ ...ctx, gate }, { teamId, event: { event: 'e' }, target: { plugin_config_id: fetcherId } }),
      (err: TryRefusedError) => err.status === 429 && err.code === 'too_many_requests',
    )
    await Promise.all(running)
    assert.equal((await run({ event: 'e' }, { plugin_config_id: fetcherId }, { gate })).steps.length, 1, 'a slot is free again')
  })
  it('fails the step of a plugin that returns an event past CAPTURE_MAX_EVENT_BYTES, as the ingest workers do, and goes on with the event as it was', async () => {
    const grower = await configure(writePlugin('grower', `export function processEvent(e) { e.properties.padding = 'x'.repeat(4000); return e }`), {})
    const result = await run(
      { event: 'signup', distinct_id: 'u', properties: { small: true } },
      { plugin_config_id: grower },
      { settings: { maxEventBytes: 2048 } },
    )
    const failed = step(result, 'grower', 'processEvent')
    assert.match(String(failed.error), /processEvent returned an event of \d+ characters of JSON, over CAPTURE_MAX_EVENT_BYTES \(2048 bytes\)/)
    const props = result.output?.properties as Record<string, unknown>
    assert.equal(props.padding, undefined, 'the event goes on as it was')
    assert.equal(props.small, true)
  })

  it("refuses cache and storage writes past the run's MAX_TRY_HELD_BYTES, naming the limit; an overwrite frees the old value's bytes", async () => {
    const writer = writePlugin(
      'try-held-writer',
      `export async function processEvent(event, { cache, storage }) {
        // 54 MB written over three keys: only the last three values are held.
        for (let n = 0; n < 60; n++) await cache.set('k' + (n % 3), 'x'.repeat(900 * 1024))
        event.properties.overwrites = 'accepted'
        try {
          for (let n = 0; n < 60; n++) await cache.set('new' + n, 'y'.repeat(900 * 1024))
        } catch (error) {
          event.properties.cache_error = error.message
        }
        try {
          await storage.set('big', 'z'.repeat(900 * 1024))
        } catch (error) {
          event.properties.storage_error = error.message
        }
        return event
      }`,
    )
    const result = await run({ event: 'e' }, { plugin_config_id: await configure(writer, {}, { enabled: false }) })
    const props = result.output?.properties as Record<string, unknown>
    assert.equal(props.overwrites, 'accepted')
    const refused = /refused: this dry run's cache, storage and cursor writes would hold \d+ bytes together, over its limit of 33554432 \(MAX_TRY_HELD_BYTES\)/
    assert.match(String(props.cache_error), refused)
    assert.match(String(props.storage_error), refused, 'storage writes count against the same budget')
    const shown = step(result, 'try-held-writer', 'processEvent').host_calls.filter((c) => c.error !== undefined)
    assert.ok(shown.length > 0 && shown.every((c) => refused.test(String(c.error))), 'the step shows the refused calls')
    assert.equal(MAX_TRY_HELD_BYTES, 32 * 1024 * 1024)
  })

  it('keeps no log of the values a dry run wrote to its cache, only the values held', async () => {
    const dist = path.join(REPO_ROOT, 'libs/try-it/dist')
    const { OverlayCache } = require(`${dist}/overlay-cache.js`) as typeof import('@plugin-server/try-it/dist/overlay-cache')
    const { HeldBytes } = require(`${dist}/held-bytes.js`) as typeof import('@plugin-server/try-it/dist/held-bytes')
    const held = new HeldBytes()
    const cache = new OverlayCache(null, held)
    for (let n = 0; n < 100; n++) await cache.set(`k${n % 3}`, 'x'.repeat(900 * 1024))
    assert.equal((cache as unknown as { memory: MemoryCache }).memory.writes.length, 0, 'nothing keeps the 100 values written')
    assert.ok(held.bytes < 3 * 930 * 1024, `three values held, ${held.bytes} bytes`)
    await cache.lpush('list', ['a', 'b', 'c'])
    await cache.lpop('list', 2)
    await cache.lrem('list', 0, 'c')
    await cache.set('k0', 1)
    assert.ok(held.bytes < 2 * 930 * 1024 + 1024, `popped, removed and overwritten values are given back: ${held.bytes} bytes`)
  })

  it("holds a run's fetch responses being read to one response's limit together, as the workers hold an instance's", async () => {
    // Every response sends 4 MB and never ends: three of them would hold 12 MB.
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' })
      res.write(Buffer.alloc(4 * 1024 * 1024, 'a'))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const fetcher = writePlugin(
        'try-parallel-fetch',
        `export async function processEvent(event, { config }) {
          const reads = [1, 2, 3].map((i) => fetch(config.url + '/big/' + i).then((r) => r.text()))
          event.properties.first_outcome = await new Promise((resolve) => {
            for (const read of reads) read.catch((error) => resolve(error.message))
            Promise.all(reads).then(() => resolve('all read'))
          })
          return event
        }`,
        [{ key: 'url', name: 'URL', type: 'string', required: true }],
      )
      const id = await configure(fetcher, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, { enabled: false })
      const result = await run({ event: 'e' }, { plugin_config_id: id }, { settings: { fetchAllowedHosts: ['127.0.0.1'], timeoutMs: 5000 } })
      assert.equal(step(result, 'try-parallel-fetch', 'processEvent').error, null)
      assert.match(
        String((result.output?.properties as Record<string, unknown>).first_outcome),
        /^fetch of http:\/\/127\.0\.0\.1:\d+\/… stopped: this plugin's responses being read hold over 10485760 bytes together/,
      )
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })

  it("holds a run's fetches to MAX_TRY_SOCKETS sockets together: a chain's third plugin is refused what the first two hold, naming the limit", async () => {
    // Every request is held unanswered until the run is over.
    const held: http.ServerResponse[] = []
    const server = http.createServer((_req, res) => held.push(res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      // Each starts 32 fetches (as many as a plugin runs at once) and waits until `expect` were refused.
      const fetcher = (name: string) =>
        writePlugin(
          name,
          `export async function processEvent(event, { config }) {
            const refused = []
            for (let i = 0; i < 32; i++) fetch(config.url).catch((e) => refused.push(e.message))
            while (refused.length < Number(config.expect)) await new Promise((resolve) => setTimeout(resolve, 10))
            event.properties['${name}'] = { refused: refused.length, first: refused[0] ?? null }
            return event
          }`,
          [
            { key: 'url', name: 'URL', type: 'string', required: true },
            { key: 'expect', name: 'Refusals to wait for', type: 'string', required: true },
          ],
        )
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
      for (const [i, expect] of ['0', '0', '32'].entries()) await configure(fetcher(`try-sockets-${i}`), { url, expect }, { order: i + 1 })
      const result = await run({ event: 'e' }, { chain: true }, { settings: { fetchAllowedHosts: ['127.0.0.1'], timeoutMs: 5000 } })
      assert.equal(step(result, 'try-sockets-2', 'processEvent').error, null)
      const properties = result.output?.properties as Record<string, { refused: number; first: string | null }>
      assert.deepEqual(
        [properties['try-sockets-0'], properties['try-sockets-1']],
        [
          { refused: 0, first: null },
          { refused: 0, first: null },
        ],
      )
      assert.equal(properties['try-sockets-2'].refused, 32)
      assert.match(String(properties['try-sockets-2'].first), /^fetch: this dry run's plugins \(MAX_TRY_SOCKETS\) already have 64 sockets open/)
      assert.equal(held.length, MAX_TRY_SOCKETS, 'the server got the 64 let through, and no more')
      const fetches = step(result, 'try-sockets-2', 'processEvent').host_calls.filter((c) => c.call === 'fetch')
      assert.deepEqual(
        [fetches.length, fetches.filter((c) => !c.performed && /MAX_TRY_SOCKETS/.test(String(c.error))).length],
        [32, 32],
        'each refused fetch is in the step’s host calls as not performed, with why',
      )
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })

  it('stops a chain whose isolates together hold more than twice the memory limit, disposing them, and says why', async () => {
    for (const [order, name] of ['try-hog-a', 'try-hog-b', 'try-hog-c'].entries()) {
      const hog = writePlugin(
        name,
        `export function setupPlugin() { globalThis.held = new Uint8Array(30 * 1024 * 1024).fill(1) }
        export function processEvent(event) { event.properties['${name}'] = globalThis.held.length; return event }
        export function teardownPlugin() {}`,
      )
      await configure(hog, {}, { order: order + 1 })
    }
    const result = await run({ event: 'e' }, { chain: true }, { settings: { memoryLimitMb: 40 } })
    assert.deepEqual(stepsOf(result), [
      'try-hog-a.setupPlugin',
      'try-hog-a.processEvent',
      'try-hog-b.setupPlugin',
      'try-hog-b.processEvent',
      'try-hog-c.setupPlugin',
    ])
    assert.match(
      String(step(result, 'try-hog-c', 'setupPlugin').error),
      /^the dry run was stopped: its 3 plugins' isolates held \d+ bytes together, over the 83886080 a dry run's isolates may hold \(2 × PLUGIN_MEMORY_LIMIT_MB, 40 MB\)/,
    )
    assert.equal(step(result, 'try-hog-b', 'processEvent').error, null, 'the steps before it ran')
    assert.equal(TRY_RUN_ISOLATE_LIMITS, 2)
  })
})
