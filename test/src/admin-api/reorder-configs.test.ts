import assert from 'node:assert/strict'
import { eventually } from '../harness/fleet'
import { AdminFleet, sendEvents, startAdminFleet } from './admin-fleet'

interface ConfigView {
  id: number
  order: number
  plugin_name: string
}

describe('PUT /api/teams/:teamId/configs/order', function () {
  this.timeout(90_000)
  let f: AdminFleet
  let first: number
  let second: number
  const url = () => `/api/teams/${f.fleet.team.id}/configs/order`

  before(async () => {
    f = await startAdminFleet(['capture', 'ingest-worker'])
    first = await f.enable('admin-order-first', { mark: 'A' })
    second = await f.enable('admin-order-second', { mark: 'B' })
    await f.ok('PUT', url(), { ids: [first, second] })
  })
  after(() => f.close())

  /** The trail the ingest chain wrote on a new event: the marks in processEvent order. */
  async function trailOfNewEvent(name: string): Promise<string> {
    await sendEvents(f.fleet, [{ event: name }])
    const rows = await eventually(
      `event ${name} stored`,
      async () => (await f.fleet.db.pool.query<{ properties: { trail?: string } }>('SELECT properties FROM events WHERE event = $1', [name])).rows,
      (r) => r.length === 1,
    )
    return rows[0].properties.trail ?? ''
  }

  it('rewrites the order and the workers run the chain in the new order', async () => {
    assert.equal(await trailOfNewEvent('before'), 'AB')
    const listed = await f.ok<ConfigView[]>('PUT', url(), { ids: [second, first] }, 200, f.teamToken)
    assert.deepEqual(
      listed.map((c) => c.id),
      [second, first],
    )
    assert.ok(listed[0].order < listed[1].order, JSON.stringify(listed))
    assert.deepEqual(
      (await f.ok<ConfigView[]>('GET', `/api/teams/${f.fleet.team.id}/configs`)).map((c) => c.id),
      [second, first],
    )
    // The reload message reaches the worker shortly after the answer: wait for the chain to follow.
    await eventually(
      'the chain runs B first',
      async () => trailOfNewEvent(`after-${Date.now()}`),
      (trail) => trail === 'BA',
    )
  })

  it('refuses a list that is not exactly the team’s configs, naming ids', async () => {
    const cases: [unknown, RegExp][] = [
      [{}, /^ids is required/],
      [{ ids: 'all' }, /^ids must be an array of ids/],
      [{ ids: [first] }, /missing: \d+/],
      [{ ids: [first, second, first] }, /listed more than once: \d+/],
      [{ ids: [first, second, 999_999] }, /not configs of this team: 999999/],
      [{ ids: Array.from({ length: 1001 }, () => first) }, /^ids must list at most 1000 ids \(got 1001\)$/],
    ]
    for (const [body, message] of cases) {
      const reply = await f.call('PUT', url(), body)
      assert.equal(reply.status, 400, reply.text)
      const { error } = reply.json<{ error: { code: string; message: string; field: string } }>()
      assert.equal(error.code, 'validation_error')
      assert.equal(error.field, 'ids')
      assert.match(error.message, message)
    }
  })

  it("is 403 for another team's token", async () => {
    const reply = await f.call('PUT', url(), { ids: [first, second] }, f.other.token)
    assert.equal(reply.status, 403, reply.text)
  })
})
