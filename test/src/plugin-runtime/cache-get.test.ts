import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { pluginRuntimeFixture, PluginRuntimeFixture } from '../harness/plugin-runtime-fixture'

/** meta.cache.get on the server: what one turn of a plugin's reads costs the host and Redis. */
describe('plugin runtime: meta.cache.get reads through Redis once per key and turn, within PLUGIN_HOST_WORK_MAX_BYTES', function () {
  this.timeout(60_000)
  let fx: PluginRuntimeFixture
  let redis: Redis
  before(() => (redis = new Redis(process.env.REDIS_URL!)))
  after(() => redis.quit())
  beforeEach(async () => (fx = await pluginRuntimeFixture()))
  afterEach(() => fx.close())

  const stat = async (section: string, pattern: RegExp): Promise<number> => Number(pattern.exec(await redis.info(section))?.[1] ?? 0)
  const sentBytes = () => stat('stats', /^total_net_output_bytes:(\d+)/m)
  const strlenCalls = () => stat('commandstats', /^cmdstat_strlen:calls=(\d+)/m)

  it('answers 1 000 reads of one key in a turn with one read: each caller decodes its own value (its default, its jsonSerialize)', async () => {
    const { config } = await fx.startWithPlugin(
      'cache-many-readers',
      `export async function runEveryMinute({ cache }) {
        await cache.set('doc', { text: 'x'.repeat(20000) })
        const values = await Promise.all(Array.from({ length: 1000 }, (_, i) => cache.get(i % 4 === 3 ? 'none' : 'doc', i, i % 4 === 1 ? { jsonSerialize: false } : undefined)))
        values[0].text = 'changed'
        return [values[0].text, values[4].text.length, typeof values[1], values[1].length, values[2].text.length, values[3], values[7], values[999]]
      }`,
    )
    const [sent, strlen] = [await sentBytes(), await strlenCalls()]
    const result = await config.use((i) => i.call('runEveryMinute', []))
    assert.deepEqual(
      result,
      ['changed', 20000, 'string', 20011, 20000, 3, 7, 999],
      'each caller has a value of its own; a missing key answers the caller’s default',
    )
    assert.equal((await strlenCalls()) - strlen, 2, 'one read of each of the two keys')
    const out = (await sentBytes()) - sent
    assert.ok(out < 200_000, `Redis sent ${out} bytes for 1 000 reads of a 20 kB value (one copy per reader would be 15 MB)`)
  })

  it('refuses the values of one turn past its share of PLUGIN_HOST_WORK_MAX_BYTES, naming the key and the limit; Redis never sends them', async () => {
    const { config } = await fx.startWithPlugin(
      'cache-big-reader',
      `export async function runEveryMinute({ cache }) {
        for (let i = 0; i < 6; i++) await cache.set('big' + i, String(i).repeat(900000))
        return await Promise.all(Array.from({ length: 6 }, (_, i) => cache.get('big' + i).then((v) => v.length, (e) => e.message)))
      }`,
    )
    const sent = await sentBytes()
    const result = (await config.use((i) => i.call('runEveryMinute', []))) as unknown[]
    // PLUGIN_HOST_WORK_MAX_BYTES 16 MiB: a turn's reads take at most a quarter of it, 4 MiB: four values of 900 kB.
    assert.deepEqual(result.slice(0, 4), [900000, 900000, 900000, 900000])
    for (const i of [4, 5])
      assert.equal(
        result[i],
        `cache.get("big${i}") refused: the values read at once come to more than this plugin may read at once (4194304 bytes, or what is left of 16777216 while other reads are held) (PLUGIN_HOST_WORK_MAX_BYTES)`,
      )
    const out = (await sentBytes()) - sent
    assert.ok(out < 5_000_000, `Redis sent ${out} bytes: the sets' replies and four values (all six would be 5.4 MB more)`)
  })
})
