import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { DeliveryQueue, exportKeys, finishPending, NewDelivery } from '@plugin-server/export'
import type { ProcessedPluginEvent } from '@plugin-server/plugin-runtime'
import { testQueuePrefix } from '../harness/databases'

const delivery = (jobId: string, events: number, source: NewDelivery['data']['source'] = { type: 'live' }): NewDelivery => ({
  jobId,
  data: { configId: 7, teamId: 1, method: 'exportEvents', events: Array.from({ length: events }, () => ({}) as ProcessedPluginEvent), source, attempts: [] },
})

describe('DeliveryQueue (EXPORT_MAX_PENDING_EVENTS)', () => {
  let redis: Redis
  let prefix: string
  let queue: DeliveryQueue
  const spilled: string[] = []
  const pending = async () => Number(await redis.get(exportKeys(prefix).pendingEventsTotal(7)))

  beforeEach(() => {
    redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null })
    prefix = testQueuePrefix()
    spilled.length = 0
    queue = new DeliveryQueue(redis, prefix, { maxPendingEvents: 10, spill: async (d) => void spilled.push(d.jobId) })
  })
  afterEach(async () => {
    await queue.close()
    redis.disconnect()
  })

  it('adds live deliveries while their config has room, spills the rest, counts a re-added one once, and never spills historical pages or replays', async () => {
    await queue.add([delivery('a', 6), delivery('b', 4)])
    await queue.add([delivery('a', 6), delivery('c', 1)])
    await queue.add([delivery('h', 5, { type: 'historical', runId: 1, seq: 0 }), delivery('r', 5, { type: 'replay', deadLetterId: 3 })])
    assert.deepEqual(spilled, ['c'])
    assert.equal(await pending(), 20)
    const jobs = await queue.queue.getJobs(['waiting'])
    assert.deepEqual(jobs.map((j) => j.id).sort(), ['a', 'b', 'h', 'r'])
  })

  it('admits a batch larger than the cap when nothing is pending, alone', async () => {
    await queue.add([delivery('big', 25), delivery('next', 1)])
    assert.deepEqual(spilled, ['next'])
    assert.equal(await pending(), 25)
  })

  it('answers a delivery added again as it did before: spilled again if it was spilled, not counted again once delivered', async () => {
    await queue.add([delivery('a', 10)])
    await queue.add([delivery('b', 5)])
    assert.deepEqual(spilled, ['b'])
    // 'a' is delivered: its events come back, BullMQ keeps its job (a stub) for an hour.
    await finishPending(redis, exportKeys(prefix), 7, 'a')
    assert.equal(await pending(), 0)
    // Redelivered hand-offs: 'b' now fits, but it is a dead letter already; 'a' is not counted a second time.
    await queue.add([delivery('b', 5), delivery('a', 10)])
    assert.deepEqual(spilled, ['b', 'b'], 'b is spilled again (its dead letter is written once), not delivered as well')
    assert.equal(await pending(), 0)
  })

  it('stops counting a job that ended over a minute ago without giving its events back (removed by hand), so its config is not held back for good', async () => {
    await queue.add([delivery('a', 10)])
    await queue.queue.remove('a')
    await queue.add([delivery('b', 5)])
    assert.deepEqual(spilled, ['b'], 'a job admitted less than a minute ago may still be being added: it counts')
    // As if 'a' had been admitted two minutes ago (the count holds `<events>:<ms admitted>`).
    await redis.hset(exportKeys(prefix).pendingEvents(7), 'a', `10:${Date.now() - 120_000}`)
    spilled.length = 0
    await queue.add([delivery('c', 5)])
    assert.deepEqual(spilled, [], 'the lost count was looked at before refusing')
    assert.equal(await pending(), 5)
  })
})
