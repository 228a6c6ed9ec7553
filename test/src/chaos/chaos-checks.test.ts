import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import Redis from 'ioredis'
// The chaos run is its own project (chaos/), built before the tests; src and dist sit at the same depth.
import type { ChaosTeam } from '../../../chaos/dist/chaos-teams'
import { checkEvents, EventObservations } from '../../../chaos/dist/event-checks'
import { checkJobs } from '../../../chaos/dist/job-checks'
import { locateInRedis } from '../../../chaos/dist/locate-in-redis'

const team: ChaosTeam = { id: 7, apiToken: 'phc_x', configName: 'chaos team 7', configLabel: 'Chaos fixture (3)' }
const good = { processedBy: 'chaos team 7', pluginsSucceeded: ['Chaos fixture (3)'] }

/** One healthy event 7:a (sent, acknowledged at t=1000, stored, exported), plus whatever the test changes. */
function observations(change: (o: EventObservations & { load: { sent: Map<string, { withJob: boolean }>; acked: Map<string, number> } }) => void) {
  const o = {
    load: { sent: new Map([['7:a', { withJob: true }]]), acked: new Map([['7:a', 1000]]) },
    canaries: new Set<string>(),
    stored: new Map([['7:a', good]]),
    exported: new Map([['7:a', 1]]),
    exportedProcessedBy: new Map<string, string | null>([['7:a', 'chaos team 7']]),
    teams: [team],
    redisWindows: [] as { from: number; to: number }[],
  }
  change(o)
  return checkEvents(o)
}

const broken = (result: ReturnType<typeof checkEvents>) => result.discrepancies.filter((d) => d.breaks && d.ids.length > 0).map((d) => [d.name, d.ids])

describe('the chaos run checks', () => {
  it('find nothing broken when every acknowledged event is stored, enriched by its team and exported', () => {
    const result = observations(() => undefined)
    assert.deepEqual(broken(result), [])
    assert.equal(result.figures.enriched, 1)
  })

  it('name a stored event without its team’s enrichment or config label, and one enriched by another team’s config', () => {
    const result = observations((o) => {
      o.load.sent.set('7:b', { withJob: false }).set('7:c', { withJob: false })
      o.stored = new Map([
        ...o.stored,
        ['7:b', { processedBy: null, pluginsSucceeded: [] }],
        ['7:c', { processedBy: 'chaos team 8', pluginsSucceeded: ['Chaos fixture (4)'] }],
      ])
      o.exported = new Map([...o.exported, ['7:b', 1], ['7:c', 1]])
    })
    assert.deepEqual(broken(result), [
      ["stored without its team's enrichment (chaos_processed_by)", ['7:b', '7:c']],
      ["stored without its team's config in $plugins_succeeded", ['7:b', '7:c']],
    ])
    assert.equal(result.figures.enriched, 1)
  })

  it('fail on an acknowledged event lost outside a Redis SIGKILL’s AOF window and only report one lost inside it', () => {
    const result = observations((o) => {
      o.load.sent.set('7:early', { withJob: false }).set('7:late', { withJob: false })
      o.load.acked.set('7:early', 5000).set('7:late', 9500)
      o.redisWindows = [{ from: 8000, to: 12_000 }]
    })
    assert.deepEqual(broken(result), [['acknowledged by capture, not stored', ['7:early']]])
    assert.deepEqual(result.discrepancies.find((d) => d.name.includes('AOF window'))!.ids, ['7:late'])
    assert.equal(result.figures.lost, 1)
    assert.equal(result.figures.lostInRedisWindow, 1)
  })

  it('fail on stored events never sent or never exported, and exports of events never stored', () => {
    const result = observations((o) => {
      o.stored = new Map([...o.stored, ['7:stray', good]])
      o.exported = new Map([...o.exported, ['7:ghost', 1]])
    })
    assert.deepEqual(broken(result), [
      ['stored, never sent', ['7:stray']],
      ['stored, never exported', ['7:stray']],
      ['exported, not stored', ['7:ghost']],
    ])
  })

  it('account for jobs by id: an expected id that never ran and an id nobody expected both fail', () => {
    const sent = new Map([
      ['7:a', { withJob: true }],
      ['7:b', { withJob: true }],
      ['7:c', { withJob: false }],
    ])
    const stored = new Map([
      ['7:a', good],
      ['7:b', good],
      ['7:c', good],
    ])
    const result = checkJobs(
      { sent },
      stored,
      new Map([
        ['7:a', 2],
        ['7:c', 1],
      ]),
      [],
    )
    assert.deepEqual(
      result.discrepancies.filter((d) => d.ids.length > 0).map((d) => [d.name, d.ids, d.breaks]),
      [
        ['job expected (its event is stored), never ran', ['7:b'], true],
        ['job ran, id not expected', ['7:c'], true],
        ['job ran more than once', ['7:a'], false],
      ],
    )
    assert.deepEqual(result.figures, { expected: 2, ran: 1, unexpected: 1, duplicates: 1, failed: 0 })
  })

  it('say where in Redis an event a discrepancy names still is, and when it is nowhere', async () => {
    const redis = new Redis(process.env.REDIS_URL!)
    const prefix = `{chaos-locate-${randomUUID()}}`
    const [stuck, gone] = [randomUUID(), randomUUID()]
    try {
      await redis.rpush(`${prefix}:export:buffer:1`, JSON.stringify({ uuid: stuck }))
      await redis.hset(`${prefix}:other:job`, 'data', JSON.stringify({ events: [{ uuid: 'someone-else' }] }))
      const found = await locateInRedis(redis, prefix, [stuck, gone])
      assert.deepEqual(
        [...found],
        [
          [stuck, `in Redis at ${prefix}:export:buffer:1`],
          [gone, 'nowhere in Redis'],
        ],
      )
    } finally {
      await redis.del(`${prefix}:export:buffer:1`, `${prefix}:other:job`)
      redis.disconnect()
    }
  })
})
