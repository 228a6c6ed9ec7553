import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { getPlugin, installPluginFromPath } from '@plugin-server/management'
import { PluginRuntime, readMetrics } from '@plugin-server/plugin-runtime'
import { eventually } from '../harness/fleet'
import { pluginRuntimeFixture, PluginRuntimeFixture } from '../harness/plugin-runtime-fixture'
import { enablePlugin, FIXTURES, writePlugin } from '../harness/plugins'

interface ApiRequest {
  server: string
  method: string
  url: string
  auth: string
  body: string
}

/** A local stand-in for a PostHog instance: records each request, answers `{ ok: true }`. */
async function apiServer(name: string, requests: ApiRequest[]): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      requests.push({ server: name, method: req.method!, url: req.url!, auth: req.headers.authorization ?? '', body })
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

// Members of the PostHog plugin reference that the other tests use only in part: the four
// posthog.api methods and their options, every console level, require(), MetricsOperation and CacheOptions.
describe('PostHog plugin reference members (posthog.api, console, require, MetricsOperation, cache options, plugin.json)', function () {
  this.timeout(60_000)
  let fx: PluginRuntimeFixture
  let runtime: PluginRuntime
  const requests: ApiRequest[] = []
  let own: Awaited<ReturnType<typeof apiServer>>
  let other: Awaited<ReturnType<typeof apiServer>>

  beforeEach(async () => {
    requests.length = 0
    own = await apiServer('own', requests)
    other = await apiServer('other', requests)
    fx = await pluginRuntimeFixture({ POSTHOG_API_HOST: own.url, POSTHOG_PERSONAL_API_KEY: 'phx_operator' })
  })
  afterEach(async () => {
    await fx.close()
    await own.close()
    await other.close()
  })

  const runOnce = async (name: string, code: string) => {
    const config = await enablePlugin(fx.management, fx.team.id, writePlugin(name, code))
    runtime = await fx.start()
    const [active] = await runtime.manager.teamConfigs(fx.team.id)
    const [result] = await active.use((instance) => instance.processEventBatch([{ event: 'e', properties: {} }]))
    return { config, result }
  }

  it('posthog.api has get, post, put and delete, data as query or JSON body, and the host, projectApiKey and personalApiKey options', async () => {
    const { result } = await runOnce(
      'api-methods',
      `export async function processEvent(e) {
        const statuses = []
        statuses.push((await posthog.api.get('/api/a', { data: { q: 'x' } })).status)
        statuses.push((await posthog.api.post('/api/b', { data: { n: 1 } })).status)
        statuses.push((await posthog.api.put('/api/c', { data: { n: 2 }, projectApiKey: 'phc_other_project' })).status)
        statuses.push((await posthog.api.delete('/api/d', { data: { id: 7 }, host: '${other.url}', personalApiKey: 'phx_theirs' })).status)
        e.properties.statuses = statuses
        return e
      }`,
    )
    assert.deepEqual(result, { ok: true, event: { event: 'e', properties: { statuses: [200, 200, 200, 200] } } })
    const token = fx.team.api_token
    assert.deepEqual(requests, [
      { server: 'own', method: 'GET', url: `/api/a?token=${token}&q=x`, auth: 'Bearer phx_operator', body: '' },
      { server: 'own', method: 'POST', url: `/api/b?token=${token}`, auth: 'Bearer phx_operator', body: '{"n":1}' },
      { server: 'own', method: 'PUT', url: '/api/c?token=phc_other_project', auth: 'Bearer phx_operator', body: '{"n":2}' },
      { server: 'other', method: 'DELETE', url: `/api/d?token=${token}&id=7`, auth: 'Bearer phx_theirs', body: '' },
    ])
  })

  it('writes console.log, info, warn, error and debug to the config logs with their level', async () => {
    const { config } = await runOnce(
      'console-levels',
      `export function processEvent(e) {
        console.log('a log line', { n: 1 })
        console.info('an info line')
        console.warn('a warning')
        console.error('an error')
        console.debug('a debug line')
        return e
      }`,
    )
    await runtime.services.logs.flush()
    const { rows } = await fx.db.pool.query<{ source: string; type: string; message: string }>(
      `SELECT source, type, message FROM plugin_log_entries WHERE plugin_config_id = $1 AND source = 'CONSOLE' ORDER BY id`,
      [config.id],
    )
    assert.deepEqual(
      rows.map((r) => [r.type, r.message]),
      [
        ['LOG', 'a log line {"n":1}'],
        ['INFO', 'an info line'],
        ['WARN', 'a warning'],
        ['ERROR', 'an error'],
        ['DEBUG', 'a debug line'],
      ],
    )
  })

  it('loads modules with require() as with import, and takes MetricsOperation from @posthog/plugin-scaffold for metrics', async () => {
    const { config, result } = await runOnce(
      'require-user',
      `const { RetryError, MetricsOperation } = require('@posthog/plugin-scaffold')
      const { createHash } = require('crypto')
      const { URL } = require('url')
      export const metrics = { seen: MetricsOperation.Sum, biggest: MetricsOperation.Max, smallest: MetricsOperation.Min }
      export function processEvent(e, { metrics }) {
        metrics.seen.increment(2)
        metrics.biggest.max(9)
        metrics.smallest.min(3)
        e.properties.hash = createHash('sha256').update('x').digest('hex').slice(0, 8)
        e.properties.host = new URL('https://example.com/a').host
        e.properties.retryable = new RetryError('x') instanceof Error
        return e
      }`,
    )
    assert.deepEqual(result, { ok: true, event: { event: 'e', properties: { hash: '2d711642', host: 'example.com', retryable: true } } })
    await eventually(
      'metrics aggregated',
      () => readMetrics(runtime.services.redis, fx.prefix, config.id),
      (m) => m.seen === 2 && m.biggest === 9 && m.smallest === 3,
      5_000,
    )
  })

  it('meta.cache takes CacheOptions: jsonSerialize false stores and reads the raw string', async () => {
    const { config, result } = await runOnce(
      'cache-options',
      `export async function processEvent(e, { cache }) {
        await cache.set('raw', '{"not":"parsed"}', undefined, { jsonSerialize: false })
        await cache.set('json', { parsed: true })
        e.properties.raw = await cache.get('raw', null, { jsonSerialize: false })
        e.properties.json = await cache.get('json', null)
        e.properties.jsonAsText = await cache.get('json', null, { jsonSerialize: false })
        return e
      }`,
    )
    assert.deepEqual(result, {
      ok: true,
      event: { event: 'e', properties: { raw: '{"not":"parsed"}', json: { parsed: true }, jsonAsText: '{"parsed":true}' } },
    })
    assert.equal(await runtime.services.redis.get(`${fx.prefix}:cache:${config.plugin_id}:${fx.team.id}:raw`), '{"not":"parsed"}')
  })

  it('keeps plugin.json name, description, url and main as installed', async () => {
    const installed = await installPluginFromPath(fx.management, path.join(FIXTURES, 'management-basic'))
    const detail = await getPlugin(fx.management, installed.plugin.id)
    assert.deepEqual(
      [detail.name, detail.description, detail.url, detail.plugin_json.main],
      ['management-basic', 'Fixture for the plugin management tests: one field of every kind', 'https://example.invalid/management-basic', 'index.ts'],
    )
  })
})
