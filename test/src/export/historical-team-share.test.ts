import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { createTeam, insertEvents } from '@plugin-server/db'
import { HistoricalQueue, startHistoricalExport } from '@plugin-server/export'
import { eventually } from '../harness/fleet'
import { enablePlugin, managementContext } from '../harness/plugins'
import { Destination } from './destination'
import { testEvent } from './export-setup'
import { HistoricalFleet, historicalFleet, RANGE } from './historical-fleet'

describe("historical export runs: one team's share of an exporter", function () {
  this.timeout(120_000)
  let h: HistoricalFleet
  let other: Destination
  let redis: Redis
  let queue: HistoricalQueue
  let management: ReturnType<typeof managementContext>

  after(async () => {
    other?.release(503)
    await queue?.close()
    redis?.disconnect()
    await management?.close()
    await h?.close()
    await other?.close()
  })

  it("runs at most two of a team's runs at once on an exporter, so a later run of another team starts while the first team's third waits", async () => {
    // Events one second apart from the start of the range: three 100-second ranges of 100 events each.
    h = await historicalFleet(300)
    h.destination.responder = () => 'hold'
    other = new Destination()
    const otherUrl = await other.start()
    other.responder = () => 'hold'
    management = managementContext(h.fleet.db.pool, h.fleet.env.QUEUE_PREFIX)
    const team = await createTeam(h.fleet.db.pool, 'other team')
    const otherConfig = (await enablePlugin(management, team.id, 'export-batch', { url: `${otherUrl}/other` })).id
    await insertEvents(h.fleet.db.pool, [{ ...testEvent(team.id, 'old'), timestamp: RANGE.from }])
    redis = new Redis(process.env.REDIS_URL!)
    queue = new HistoricalQueue(redis, h.fleet.env.QUEUE_PREFIX)
    await h.fleet.start('exporter')

    const base = Date.parse(RANGE.from)
    const part = (i: number) => ({ from: new Date(base + i * 100_000), to: new Date(base + (i + 1) * 100_000), batchSize: 10, maxInFlight: 1 })
    const mine: number[] = []
    for (const i of [0, 1, 2]) mine.push((await startHistoricalExport(h.fleet.db.pool, queue, h.configId, part(i))).run.id)
    const running = async (ids: number[]) => (await Promise.all(ids.map((id) => h.progress(id)))).filter((p) => p.status === 'running').length
    await eventually(
      'two of the team’s runs running',
      () => running(mine),
      (n) => n >= 2,
    )

    const theirs = (
      await startHistoricalExport(h.fleet.db.pool, queue, otherConfig, { from: new Date(RANGE.from), to: new Date(RANGE.to), batchSize: 10, maxInFlight: 1 })
    ).run.id
    await eventually(
      'the other team’s run running',
      async () => (await h.progress(theirs)).status,
      (s) => s === 'running',
    )
    assert.equal(await running(mine), 2, 'the third run of the first team waits, holding no slot')
  })
})
