import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createIngestQueue, createPluginJobsQueue, IngestBatch } from '@plugin-server/core'
import type { Team } from '@plugin-server/db'
import { ActiveConfig, PluginRuntime, readMetrics } from '@plugin-server/plugin-runtime'
import type { TestDatabase } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { pluginRuntimeFixture, PluginRuntimeFixture } from '../harness/plugin-runtime-fixture'

describe('the plugin host (posthog.capture, meta.jobs, meta.metrics, posthog.api)', function () {
  this.timeout(60_000)
  let fx: PluginRuntimeFixture
  let db: TestDatabase
  let team: Team
  let prefix: string
  let ctx: PluginRuntimeFixture['ctx']
  let runtime: PluginRuntime | null = null
  let api: http.Server | null = null
  const apiRequests: { method: string; url: string; auth: string; body: string }[] = []

  beforeEach(async () => {
    apiRequests.length = 0
    api = http.createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        apiRequests.push({ method: req.method!, url: req.url!, auth: req.headers.authorization ?? '', body })
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ results: [1, 2] }))
      })
    })
    await new Promise<void>((r) => api!.listen(0, '127.0.0.1', r))
    fx = await pluginRuntimeFixture({
      PLUGIN_CAPTURE_MAX_DEPTH: '3',
      POSTHOG_API_HOST: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
      POSTHOG_PERSONAL_API_KEY: 'phx_personal',
    })
    ;({ db, team, prefix, ctx } = fx)
  })
  afterEach(async () => {
    await fx.close()
    await new Promise((r) => api?.close(r))
  })

  const activeConfig = async (name: string, code: string): Promise<ActiveConfig> => {
    const started = await fx.startWithPlugin(name, code)
    runtime = started.runtime
    return started.config
  }

  it('posthog.capture enqueues into the team\'s ingest path as the "Plugin Server" person, and drops captures past the depth limit', async () => {
    const config = await activeConfig(
      'capturer',
      `export function processEvent(e) {
      posthog.capture('derived ' + e.event, { from: e.event, timestamp: '2026-01-02T03:04:05.000Z' })
      posthog.capture('for a user', { distinct_id: 'user-9' })
      return e
    }`,
    )
    await config.use((i) => i.processEventBatch([{ event: 'seed', properties: {} }]), { captureDepth: 0 })
    await config.use((i) => i.processEventBatch([{ event: 'deep', properties: {} }]), { captureDepth: 3 })
    await runtime!.services.capturer.drain()
    const queue = createIngestQueue(ctx.newRedisConnection('check'), ctx.config)
    const jobs = await queue.getJobs(['waiting'])
    const events = jobs.flatMap((j) => (j.data as IngestBatch).events)
    assert.equal(events.length, 2, 'the two captures at depth 1 were enqueued, the ones at depth 4 were not')
    const derived = events.find((e) => e.event === 'derived seed')!
    assert.equal(derived.team_id, team.id)
    assert.equal(derived.distinct_id, 'Plugin Server')
    assert.equal(derived.timestamp, '2026-01-02T03:04:05.000Z')
    assert.equal(derived.plugin_capture_depth, 1)
    assert.equal(derived.properties.$lib, 'posthog-plugin-server')
    assert.equal(derived.properties.from, 'seed')
    assert.equal(derived.properties.timestamp, undefined, 'timestamp is lifted out of properties')
    assert.equal(events.find((e) => e.event === 'for a user')!.distinct_id, 'user-9')
    await runtime!.services.logs.flush()
    const { rows } = await db.pool.query(`SELECT message FROM plugin_log_entries WHERE type = 'WARN'`)
    assert.match(rows[0].message, /posthog.capture\("derived deep"\) dropped: capture depth 4 is over the limit of 3/)
    await queue.close()
  })

  it("posthog.capture reads a zone-less timestamp as UTC, not the host's local time (TZ=Asia/Kathmandu, +05:45), and takes now for one Postgres cannot store", async () => {
    const previous = process.env.TZ
    process.env.TZ = 'Asia/Kathmandu'
    try {
      const config = await activeConfig(
        'zoneless',
        `export function processEvent(e) {
        posthog.capture('zoneless', { timestamp: '2026-01-02 03:04:05' })
        posthog.capture('year zero', { timestamp: '0000-06-01T00:00:00Z' })
        return e
      }`,
      )
      const before = Date.now()
      await config.use((i) => i.processEventBatch([{ event: 'seed', properties: {} }]), { captureDepth: 0 })
      await runtime!.services.capturer.drain()
      const queue = createIngestQueue(ctx.newRedisConnection('check'), ctx.config)
      const events = (await queue.getJobs(['waiting'])).flatMap((j) => (j.data as IngestBatch).events)
      assert.equal(events.find((e) => e.event === 'zoneless')!.timestamp, '2026-01-02T03:04:05.000Z')
      const zero = Date.parse(events.find((e) => e.event === 'year zero')!.timestamp)
      assert.ok(zero >= before && zero <= Date.now(), `year 0 became ${new Date(zero).toISOString()}`)
      await queue.close()
    } finally {
      if (previous === undefined) delete process.env.TZ
      else process.env.TZ = previous
    }
  })

  it('posthog.capture drops an event larger than CAPTURE_MAX_EVENT_BYTES, as capture refuses one from a client, and says so; properties longer than that are refused before the host parses them', async () => {
    const config = await activeConfig(
      'big capturer',
      `export function processEvent(e) {
      posthog.capture('huge', { blob: 'x'.repeat(2 * 1024 * 1024) })
      posthog.capture('n'.repeat(2 * 1024 * 1024), {})
      posthog.capture('wide', { blob: 'é'.repeat(600 * 1024) })
      posthog.capture('small', { ok: true })
      return e
    }`,
    )
    await config.use((i) => i.processEventBatch([{ event: 'seed', properties: {} }]), { captureDepth: 0 })
    await runtime!.services.capturer.drain()
    const queue = createIngestQueue(ctx.newRedisConnection('check-big'), ctx.config)
    const jobs = await queue.getJobs(['waiting'])
    assert.deepEqual(
      jobs.flatMap((j) => (j.data as IngestBatch).events.map((e) => e.event)),
      ['small'],
    )
    await runtime!.services.logs.flush()
    const { rows } = await db.pool.query<{ type: string; message: string }>(
      `SELECT type, message FROM plugin_log_entries WHERE type IN ('WARN', 'ERROR') ORDER BY id`,
    )
    assert.deepEqual(
      rows.map((r) => r.type),
      ['ERROR', 'ERROR', 'WARN'],
    )
    // 'huge' and {"blob":"…"}: 2 MiB and 15 characters, more than the whole event may hold in bytes, refused unread.
    assert.equal(
      rows[0].message,
      'posthog.capture("huge") dropped: its name and properties are 2097167 characters, over CAPTURE_MAX_EVENT_BYTES (1048576 bytes for the whole event)',
    )
    // A name as long: the same, the name cut to 200 characters in the message.
    assert.equal(
      rows[1].message,
      `posthog.capture("${'n'.repeat(200)}") dropped: its name and properties are 2097154 characters, over CAPTURE_MAX_EVENT_BYTES (1048576 bytes for the whole event)`,
    )
    // 614 400 characters but twice as many bytes: refused once serialised, as capture would.
    assert.match(rows[2].message, /^posthog.capture\("wide"\) dropped: the event is \d+ bytes, over CAPTURE_MAX_EVENT_BYTES \(1048576\)$/)
    await queue.close()
  })

  it('posthog.capture drops an event capture refuses from a client, one without a name or nested deeper than 64 levels, and says so', async () => {
    const config = await activeConfig(
      'odd capturer',
      `export function processEvent(e) {
      let deep = 'leaf'
      for (let i = 0; i < 100; i++) deep = { k: deep }
      posthog.capture('', { ok: true })
      posthog.capture('deep', { deep })
      posthog.capture('deep in a string', { text: '{['.repeat(100) })
      let deeper = 'leaf'
      for (let i = 0; i < 4400; i++) deeper = { k: deeper }
      posthog.capture('as deep as this stack goes', { deeper })
      return e
    }`,
    )
    await config.use((i) => i.processEventBatch([{ event: 'seed', properties: {} }]), { captureDepth: 0 })
    await runtime!.services.capturer.drain()
    const queue = createIngestQueue(ctx.newRedisConnection('check-odd'), ctx.config)
    const jobs = await queue.getJobs(['waiting'])
    assert.deepEqual(
      jobs.flatMap((j) => (j.data as IngestBatch).events.map((e) => e.event)),
      ['deep in a string'],
    )
    await runtime!.services.logs.flush()
    const { rows } = await db.pool.query<{ message: string }>(`SELECT message FROM plugin_log_entries WHERE type = 'WARN' ORDER BY id`)
    assert.deepEqual(
      rows.map((r) => r.message),
      [
        'posthog.capture("") dropped: the event has no name',
        'posthog.capture("deep") dropped: the event is nested deeper than 64 levels',
        'posthog.capture("as deep as this stack goes") dropped: the event is nested deeper than 64 levels',
      ],
    )
    await queue.close()
  })

  it('meta.jobs enqueues durable delayed jobs, and an unknown job name is an error naming it', async () => {
    const config = await activeConfig(
      'job-maker',
      `
      export const jobs = { retryRequest: async () => {}, cleanup: async () => {} }
      export async function processEvent(e, { jobs }) {
        if (e.event === 'unknown') await jobs.nope({}).runNow()
        await jobs.retryRequest({ url: 'https://example.com', n: 1 }).runIn(2, 'hours')
        await jobs.cleanup(null).runNow()
        return e
      }`,
    )
    const [ok, unknown] = await config.use((i) => i.processEventBatch([{ event: 'ok' }, { event: 'unknown' }]))
    assert.equal(ok.ok, true)
    assert.deepEqual(unknown, {
      ok: false,
      error: {
        name: 'Error',
        message: 'unknown job "nope": this plugin exports the jobs retryRequest, cleanup',
        isRetryError: false,
        stack: (unknown as { error: { stack?: string } }).error.stack,
      },
    })
    const queue = createPluginJobsQueue(ctx.newRedisConnection('check'), ctx.config)
    const delayed = await queue.getJobs(['delayed'])
    assert.equal(delayed.length, 1)
    assert.equal(delayed[0].name, 'retryRequest')
    assert.deepEqual(delayed[0].data.payload, { url: 'https://example.com', n: 1 })
    assert.equal(delayed[0].data.pluginConfigId, config.record.id)
    assert.ok(Math.abs(delayed[0].opts.delay! - 2 * 3600_000) < 5_000)
    const now = await queue.getJobs(['waiting'])
    assert.deepEqual(
      now.map((j) => j.name),
      ['cleanup'],
    )
    await queue.close()
  })

  it('meta.metrics aggregates per config, and a wrong operation for the metric type is a clear error', async () => {
    const config = await activeConfig(
      'metrics-user',
      `
      export const metrics = { handled: 'sum', biggest: 'max', smallest: 'min' }
      export function processEvent(e, { metrics }) {
        if (e.event === 'wrong') metrics.handled.max(3)
        metrics.handled.increment(1)
        metrics.biggest.max(e.properties.size)
        metrics.smallest.min(e.properties.size)
        return e
      }`,
    )
    const results = await config.use((i) =>
      i.processEventBatch([
        { event: 'a', properties: { size: 5 } },
        { event: 'b', properties: { size: 50 } },
        { event: 'c', properties: { size: 2 } },
        { event: 'wrong', properties: { size: 1 } },
      ]),
    )
    assert.equal((results[3] as { error: { message: string } }).error.message, 'metric "handled" is a sum metric: use increment(), not max()')
    await eventually(
      'metrics stored',
      () => readMetrics(runtime!.services.redis, prefix, config.record.id),
      (m) => m.handled === 3,
    )
    assert.deepEqual(await readMetrics(runtime!.services.redis, prefix, config.record.id), { handled: 3, biggest: 50, smallest: 2 })
  })

  it('meta.metrics updates made in a loop reach Redis merged: the total of 5 000 increments in a handful of scripts, not 5 000', async () => {
    const config = await activeConfig(
      'metrics-loop',
      `
      export const metrics = { loops: 'sum', highest: 'max' }
      export function processEvent(e, { metrics }) {
        for (let i = 1; i <= 5000; i++) { metrics.loops.increment(1); metrics.highest.max(i) }
        return e
      }`,
    )
    const scripts = async () => Number(/cmdstat_eval:calls=(\d+)/.exec(await runtime!.services.redis.info('commandstats'))?.[1] ?? 0)
    const before = await scripts()
    await config.use((i) => i.processEventBatch([{ event: 'a', properties: {} }]))
    const stored = await eventually(
      'metrics stored',
      () => readMetrics(runtime!.services.redis, prefix, config.record.id),
      (m) => m.loops === 5000,
    )
    assert.deepEqual(stored, { loops: 5000, highest: 5000 })
    const ran = (await scripts()) - before
    assert.ok(ran <= 100, `${ran} EVALs for 10 000 metric updates`)
  })

  it("posthog.api calls the configured PostHog host with the personal key and the project token, GET's data in the query", async () => {
    const config = await activeConfig(
      'api-user',
      `export async function processEvent(e) {
      const got = await posthog.api.get('/api/projects/@current/events', { data: { limit: 2 } })
      const posted = await posthog.api.post('/api/projects/@current/annotations', { data: { content: 'hi' }, personalApiKey: 'phx_other' })
      await posthog.api.get('/api/projects/@current/events?keep=1&limit=9', { data: { limit: 3, filter: { a: 1 } } })
      e.properties.got = await got.json()
      e.properties.postedStatus = posted.status
      return e
    }`,
    )
    const [result] = await config.use((i) => i.processEventBatch([{ event: 'x', properties: {} }]))
    assert.deepEqual(result, { ok: true, event: { event: 'x', properties: { got: { results: [1, 2] }, postedStatus: 200 } } })
    assert.equal(apiRequests[0].method, 'GET')
    assert.equal(apiRequests[0].url, `/api/projects/@current/events?token=${team.api_token}&limit=2`)
    assert.equal(apiRequests[0].auth, 'Bearer phx_personal')
    assert.equal(apiRequests[1].method, 'POST')
    assert.equal(apiRequests[1].auth, 'Bearer phx_other')
    assert.deepEqual(JSON.parse(apiRequests[1].body), { content: 'hi' })
    // The path's own parameters stay unless data sets them; objects go as JSON.
    assert.equal(apiRequests[2].url, `/api/projects/@current/events?keep=1&token=${team.api_token}&limit=3&filter=%7B%22a%22%3A1%7D`)
  })

  it('posthog.api refuses a host longer than 2 048 characters at once, and takes one of 1 000 trailing slashes as the host without them (a regex over them took seconds of the event loop)', async () => {
    const apiHost = `http://127.0.0.1:${(api!.address() as AddressInfo).port}`
    const config = await activeConfig(
      'api-long-host',
      `export async function processEvent(e) {
      try {
        await posthog.api.get('/x', { host: 'https://a' + '/'.repeat(1000000) + 'b', personalApiKey: 'phx' })
      } catch (error) {
        e.properties.refused = error.message
      }
      const own = await posthog.api.get('/api/projects/@current/events', { host: ${JSON.stringify(apiHost)} + '/'.repeat(1000) })
      e.properties.ownStatus = own.status
      // PostHog's options.host ?? SITE_URL: null is the operator's host.
      e.properties.nullHostStatus = (await posthog.api.get('/api/projects/@current/events', { host: null })).status
      return e
    }`,
    )
    const [result] = await config.use((i) => i.processEventBatch([{ event: 'x', properties: {} }]))
    assert.ok(result.ok)
    assert.deepEqual(result.event?.properties, { refused: 'posthog.api: host must be a URL of at most 2048 characters', ownStatus: 200, nullHostStatus: 200 })
    assert.equal(apiRequests.at(-1)?.auth, 'Bearer phx_personal', "the host with its slashes taken off is the operator's, and gets its key")
  })
})
