import assert from 'node:assert/strict'
import { pluginRuntimeFixture, PluginRuntimeFixture } from '../harness/plugin-runtime-fixture'

/** The server's Redis- and Postgres-backed meta at the edges a PostHog plugin relies on. */
describe("plugin runtime: the server's meta at the edges a PostHog plugin relies on", function () {
  this.timeout(60_000)
  let fx: PluginRuntimeFixture
  beforeEach(async () => (fx = await pluginRuntimeFixture()))
  afterEach(() => fx.close())

  it('cache.get of a missing key answers null without a default and the default with one, as the in-memory cache does', async () => {
    const { config } = await fx.startWithPlugin(
      'cache-missing',
      `export async function runEveryMinute({ cache }) {
        // Compared here: a result crosses as JSON, where undefined in an array is null too.
        return [(await cache.get('missing')) === null, await cache.get('missing', 0), (await cache.get('missing', undefined, { jsonSerialize: false })) === null]
      }`,
    )
    assert.deepEqual(await config.use((i) => i.call('runEveryMinute', [])), [true, 0, true])
  })

  it('stores in Redis and Postgres what JSON makes of a value: toJSON is used and functions are left out', async () => {
    const { config } = await fx.startWithPlugin(
      'json-values',
      `class Moment { constructor(iso) { this._i = iso } toJSON() { return this._i } }
      export async function runEveryMinute({ cache, storage }) {
        const value = { when: new Moment('2026-01-02T03:04:05.000Z'), fn() {} }
        await cache.set('v', value, 60)
        await storage.set('v', value)
        return [await cache.get('v'), await storage.get('v')]
      }`,
    )
    const expected = { when: '2026-01-02T03:04:05.000Z' }
    assert.deepEqual(await config.use((i) => i.call('runEveryMinute', [])), [expected, expected])
  })
})
