import assert from 'node:assert/strict'
import type { HistoricalRunView } from '@plugin-server/admin-api'
import { createHistoricalRun } from '@plugin-server/db'
import { AdminFleet, startAdminFleet } from './admin-fleet'

describe('historical exports: unfinished runs per config and team, and the list a page at a time', function () {
  this.timeout(120_000)
  let f: AdminFleet
  let id: number
  const url = () => `/api/configs/${id}/historical-exports`
  const month = (m: number) => ({ from: `2022-0${m}-01T00:00:00.000Z`, to: `2022-0${m}-02T00:00:00.000Z` })

  before(async () => {
    // No exporter: every run stays queued, i.e. unfinished.
    f = await startAdminFleet(['capture'])
    id = await f.enable('export-batch', { url: 'http://127.0.0.1:9/unused' })
  })
  after(() => f.close())

  it('refuses a fourth unfinished run of a config with 409 naming the limit; the same range still joins its run, and a cancel makes room', async () => {
    const runs: HistoricalRunView[] = []
    for (const m of [1, 2, 3]) runs.push(await f.ok<HistoricalRunView>('POST', url(), month(m), 202, f.teamToken))
    const refused = await f.call('POST', url(), month(4), f.teamToken)
    assert.equal(refused.status, 409, refused.text)
    assert.deepEqual(refused.json(), {
      error: {
        code: 'conflict',
        message: `plugin config ${id} already has 3 unfinished historical export runs, the limit (3 per config): wait for one to finish or cancel one first`,
      },
    })
    assert.equal((await f.ok<HistoricalRunView>('POST', url(), month(2), 202)).id, runs[1].id, 'a start of the same range answers its run')
    await f.ok('POST', `${url()}/${runs[0].id}/cancel`)
    await f.ok<HistoricalRunView>('POST', url(), month(4), 202, f.teamToken)
  })

  it("refuses a run past the team's unfinished runs, whichever of its configs holds them", async () => {
    const run = {
      configId: id,
      teamId: f.fleet.team.id,
      from: new Date('2021-01-01T00:00:00Z'),
      to: new Date('2021-01-02T00:00:00Z'),
      batchSize: 10,
      maxInFlight: 1,
    }
    const result = await createHistoricalRun(f.fleet.db.pool, { ...run, maxUnfinished: { config: 100, team: 3 } })
    assert.deepEqual(result, { outcome: 'limit', of: 'team', unfinished: 3 })
  })

  it('lists the newest runs first, 20 by default, a page of `limit` before the run `before`', async () => {
    const all = await f.ok<HistoricalRunView[]>('GET', url(), undefined, 200, f.teamToken)
    assert.deepEqual(
      all.map((r) => r.id),
      [...all.map((r) => r.id)].sort((a, b) => b - a),
    )
    assert.equal(all.length, 4)
    const first = await f.ok<HistoricalRunView[]>('GET', `${url()}?limit=3`)
    assert.deepEqual(
      first.map((r) => r.id),
      all.slice(0, 3).map((r) => r.id),
    )
    const next = await f.ok<HistoricalRunView[]>('GET', `${url()}?limit=3&before=${first[2].id}`)
    assert.deepEqual(
      next.map((r) => r.id),
      all.slice(3).map((r) => r.id),
    )
    for (const query of ['limit=101', 'limit=0', 'before=x']) {
      const reply = await f.call('GET', `${url()}?${query}`)
      assert.equal(reply.status, 400, reply.text)
      assert.equal(reply.json<{ error: { field: string } }>().error.field, query.split('=')[0])
    }
  })
})
