import assert from 'node:assert/strict'
import { AdminFleet, startAdminFleet } from './admin-fleet'

describe('GET /api/me', function () {
  this.timeout(60_000)
  let f: AdminFleet

  before(async () => {
    f = await startAdminFleet(['capture'])
  })
  after(() => f.close())

  it('names the operator, or the team of a team token with its name', async () => {
    assert.deepEqual(await f.ok('GET', '/api/me'), { kind: 'operator' })
    assert.deepEqual(await f.ok('GET', '/api/me', undefined, 200, f.teamToken), { kind: 'team', team_id: f.fleet.team.id, team_name: 'test team' })
    assert.deepEqual(await f.ok('GET', '/api/me', undefined, 200, f.other.token), { kind: 'team', team_id: f.other.teamId, team_name: 'other team' })
  })

  it('is 401 for a wrong token, like every other route', async () => {
    const reply = await f.call('GET', '/api/me', undefined, 'not-a-token')
    assert.equal(reply.status, 401)
    assert.deepEqual(reply.json(), { error: { code: 'unauthorized', message: 'invalid admin API token' } })
  })
})
