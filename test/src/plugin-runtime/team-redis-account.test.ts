import assert from 'node:assert/strict'
import { createPluginJobsQueue } from '@plugin-server/core'
import type { ActiveConfig } from '@plugin-server/plugin-runtime'
import type { BatchEventResult } from '@plugin-server/plugin-vm'
import { pluginRuntimeFixture, PluginRuntimeFixture } from '../harness/plugin-runtime-fixture'

/** Enqueues one job per event with a payload of `kb` KB, and sets a cache value of `cacheKb` KB for events asking for it. */
const JOB_MAKER = `
export const jobs = { later: async () => {} }
export async function processEvent(e, { jobs, cache }) {
  if (e.properties.cacheKb) await cache.set('value', 'c'.repeat(e.properties.cacheKb * 1000))
  else await jobs.later({ filler: 'j'.repeat(e.properties.kb * 1000) }).runIn(1, 'hours')
  return e
}`

describe('TeamRedisAccount (PLUGIN_TEAM_REDIS_LIMIT_MB): what a team’s plugins hold in Redis', function () {
  this.timeout(60_000)
  let fx: PluginRuntimeFixture
  let config: ActiveConfig

  beforeEach(async () => {
    fx = await pluginRuntimeFixture({ PLUGIN_TEAM_REDIS_LIMIT_MB: '1' })
    config = (await fx.startWithPlugin('job-maker', JOB_MAKER)).config
  })
  afterEach(() => fx.close())

  const run = async (properties: Record<string, number>): Promise<BatchEventResult> => {
    const [result] = await config.use((i) => i.processEventBatch([{ event: 'e', properties }]))
    return result
  }
  const errorOf = (result: BatchEventResult): string => (result.ok ? '' : result.error.message)

  it('holds each pending job’s payload against the limit: past it meta.jobs refuses naming the limit, and a job BullMQ no longer holds gives its bytes back', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await run({ kb: 300 })).ok, true, `job ${i + 1} of 300 KB enqueued`)
    const refused = await run({ kb: 300 })
    assert.match(
      errorOf(refused),
      /^jobs\.later refused: team \d+'s plugins hold 0\.9 MB of Redis \(cache and jobs\) together and this would add 0\.3 MB, over PLUGIN_TEAM_REDIS_LIMIT_MB \(1\.0 MB\)/,
    )
    const redis = fx.ctx.newRedisConnection('check')
    const queue = createPluginJobsQueue(redis, fx.ctx.config)
    try {
      const delayed = await queue.getJobs(['delayed'])
      assert.equal(delayed.length, 3, 'the refused job was not stored')
      await delayed[0].remove()
      assert.match(errorOf(await run({ kb: 300 })), /refused/, 'a job reserved in the last 10 s may still be being added: it counts')
      // As if it had been reserved a minute ago (the account's checks ZSET holds when to look at each job next).
      await redis.zadd(`${fx.prefix}:redis-account:${config.record.teamId}:checks`, Date.now(), queue.toKey(delayed[0].id!))
      assert.equal((await run({ kb: 300 })).ok, true, 'the removed job made room for another')
      assert.equal((await queue.getJobs(['delayed'])).length, 3)
    } finally {
      await queue.close()
    }
  })

  it('counts cache values and jobs of one team against the same limit', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await run({ kb: 300 })).ok, true)
    assert.match(errorOf(await run({ cacheKb: 200 })), /^cache\.set refused: .* over PLUGIN_TEAM_REDIS_LIMIT_MB \(1\.0 MB\)/)
    assert.equal((await run({ cacheKb: 50 })).ok, true, 'a value that fits beside the jobs')
  })
})
