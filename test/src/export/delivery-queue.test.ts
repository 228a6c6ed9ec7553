import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { BULLMQ_JOB_FINISHED_FIELD, bullmqKeys } from '@plugin-server/core'
import { DELIVERIES_QUEUE, DeliveryQueue, exportKeys, finishPending, NewDelivery } from '@plugin-server/export'
import type { ProcessedPluginEvent } from '@plugin-server/plugin-runtime'
import { testQueuePrefix } from '../harness/databases'

const live = { type: 'live' } as const
const delivery = (jobId: string, events: number, source: NewDelivery['data']['source'] = live, configId = 7, teamId = 1): NewDelivery => ({
  jobId,
  data: { configId, teamId, method: 'exportEvents', events: Array.from({ length: events }, () => ({}) as ProcessedPluginEvent), source, attempts: [] },
})

describe('DeliveryQueue (EXPORT_MAX_PENDING_EVENTS, EXPORT_TEAM_MAX_PENDING_EVENTS, EXPORT_FLEET_MAX_PENDING_EVENTS)', () => {
  let redis: Redis
  let prefix: string
  let queue: DeliveryQueue
  const spilled: string[] = []
  /** Why each spilled delivery did not fit, with the events waiting there. */
  const refusals: string[] = []
  const pending = async (configId = 7) => Number(await redis.get(exportKeys(prefix).pendingEventsTotal(configId)))
  const teamPending = async (teamId = 1) => Number(await redis.get(exportKeys(prefix).teamPendingEventsTotal(teamId)))
  /** Clears the marks that hold back the next look for lost counts for 10 s. */
  const rechecksDue = async () => {
    const marks = await redis.keys(`${exportKeys(prefix).pendingRechecked('fleet').slice(0, -'fleet'.length)}*`)
    if (marks.length > 0) await redis.del(...marks)
  }

  beforeEach(() => {
    redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null })
    prefix = testQueuePrefix()
    spilled.length = 0
    refusals.length = 0
    queue = new DeliveryQueue(redis, prefix, {
      maxPendingEvents: 10,
      maxTeamPendingEvents: 15,
      maxFleetPendingEvents: 30,
      spill: async (d, limit, waiting) => void (spilled.push(d.jobId), refusals.push(`${d.jobId}: ${limit} ${waiting}`)),
    })
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
    await finishPending(redis, exportKeys(prefix), { configId: 7, teamId: 1 }, 'a')
    assert.equal(await pending(), 0)
    // Redelivered hand-offs: 'b' now fits, but it is a dead letter already; 'a' is not counted a second time.
    await queue.add([delivery('b', 5), delivery('a', 10)])
    assert.deepEqual(spilled, ['b', 'b'], 'b is spilled again (its dead letter is written once), not delivered as well')
    assert.equal(await pending(), 0)
  })

  it('stops counting a job that ended over a minute ago without giving its events back (removed by hand), looking at most every 10 s, so its config is not held back for good', async () => {
    await queue.add([delivery('a', 10)])
    await queue.queue.remove('a')
    await queue.add([delivery('b', 5)])
    assert.deepEqual(spilled, ['b'], 'a job admitted less than a minute ago may still be being added: it counts')
    // As if 'a' had been admitted two minutes ago (the count holds `<events>:<ms admitted>`).
    await redis.hset(exportKeys(prefix).pendingEvents(7), 'a', `10:${Date.now() - 120_000}`)
    await queue.add([delivery('c', 5)])
    assert.deepEqual(spilled, ['b', 'c'], 'the counted jobs were looked at less than 10 s ago (for b): not again yet')
    await rechecksDue() // as if 10 s had passed
    await queue.add([delivery('d', 5)])
    assert.deepEqual(spilled, ['b', 'c'], 'the lost count was looked at before refusing')
    assert.equal(await pending(), 5)
  })

  it("holds a team's configs together to the team's limit: another config of the team is spilled naming it, another team's is not, and a finished job gives the team its room back", async () => {
    await queue.add([delivery('a', 10)])
    await queue.add([delivery('b', 4, live, 8), delivery('c', 2, live, 8)])
    await queue.add([delivery('d', 10, live, 9, 2)])
    assert.deepEqual(refusals, ['c: team 14'], 'config 8 has room of its own (4 of 10), its team has not (14 + 2 of 15)')
    assert.deepEqual([await pending(7), await pending(8), await teamPending(1), await teamPending(2)], [10, 4, 14, 10])
    await finishPending(redis, exportKeys(prefix), { configId: 7, teamId: 1 }, 'a')
    await queue.add([delivery('e', 2, live, 8)])
    assert.deepEqual(spilled, ['c'], 'e fits once a gave its events back')
    assert.deepEqual([await pending(7), await pending(8), await teamPending(1)], [0, 6, 6])
  })

  it("stops counting another config's job that ended over a minute ago without giving its events back, once the team's limit would refuse", async () => {
    await queue.add([delivery('a', 10)])
    await queue.queue.remove('a')
    // As if 'a' had been admitted two minutes ago, for its config and its team.
    const twoMinutesAgo = Date.now() - 120_000
    await redis.hset(exportKeys(prefix).pendingEvents(7), 'a', `10:${twoMinutesAgo}`)
    await redis.hset(exportKeys(prefix).teamPendingEvents(1), 'a', `10:${twoMinutesAgo}:7`)
    await queue.add([delivery('b', 10, live, 8)])
    assert.deepEqual(spilled, [], "config 8's batch fits once a's lost count was looked at")
    assert.deepEqual([await pending(7), await pending(8), await teamPending(1)], [0, 10, 10])
  })

  it('holds all teams together to the fleet limit, and a lost count of another team found through the fleet stops counting for that team and its config too', async () => {
    await queue.add([delivery('a', 10)])
    await queue.add([delivery('b', 10, live, 9, 2)])
    await queue.add([delivery('c', 10, live, 11, 3)])
    await queue.add([delivery('d', 1, live, 12, 4)])
    assert.deepEqual(refusals, ['d: fleet 30'], 'team 4 has room of its own; all teams together have not')
    // 'b' is removed by hand, as if admitted two minutes ago: only the fleet's sample can find it for team 4.
    await queue.queue.remove('b')
    await redis.hset(exportKeys(prefix).fleetPendingEvents(), 'b', `10:${Date.now() - 120_000}:9:2`)
    await rechecksDue() // d's refusal looked at the counts: as if 10 s had passed
    await queue.add([delivery('e', 1, live, 12, 4)])
    assert.deepEqual(spilled, ['d'], 'e fits once the lost count was looked at')
    assert.deepEqual([await pending(9), await teamPending(2), await teamPending(4)], [0, 0, 1])
    assert.equal(Number(await redis.get(exportKeys(prefix).fleetPendingEventsTotal())), 21)
  })

  it('neither adds nor shows as pending again a delivery BullMQ holds as finished (delivered within the hour)', async () => {
    await queue.add([delivery('a', 2)])
    await redis.hset(bullmqKeys(prefix, DELIVERIES_QUEUE).job('a'), BULLMQ_JOB_FINISHED_FIELD, Date.now())
    await finishPending(redis, exportKeys(prefix), { configId: 7, teamId: 1 }, 'a')
    await queue.add([delivery('a', 2)])
    assert.equal(await redis.zscore(exportKeys(prefix).pending(7), 'a'), null, 'no pending entry left behind for good')
    assert.equal(await pending(), 0)
  })
})
