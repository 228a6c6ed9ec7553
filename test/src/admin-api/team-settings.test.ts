import assert from 'node:assert/strict'
import { AdminFleet, startAdminFleet } from './admin-fleet'

describe('GET and PATCH /api/teams/:teamId: a team its own settings (anonymize_ips)', function () {
  this.timeout(60_000)
  let f: AdminFleet

  before(async () => (f = await startAdminFleet(['capture'])))
  after(async () => f.close())

  it("answers and changes anonymize_ips with the team's own token, refuses another team's, and names a field it does not take", async () => {
    const path = `/api/teams/${f.fleet.team.id}`
    const settings = { id: f.fleet.team.id, name: f.fleet.team.name }
    assert.deepEqual(await f.ok('GET', path, undefined, 200, f.teamToken), { ...settings, anonymize_ips: false })
    assert.deepEqual(await f.ok('PATCH', path, { anonymize_ips: true }, 200, f.teamToken), { ...settings, anonymize_ips: true })
    const stored = await f.fleet.db.pool.query<{ anonymize_ips: boolean }>('SELECT anonymize_ips FROM teams WHERE id = $1', [f.fleet.team.id])
    assert.equal(stored.rows[0].anonymize_ips, true)
    assert.equal((await f.call('PATCH', path, { anonymize_ips: false }, f.other.token)).status, 403, "another team's token is refused")
    const wrongType = await f.call('PATCH', path, { anonymize_ips: 'yes' }, f.teamToken)
    assert.equal(wrongType.status, 400)
    assert.equal(wrongType.json<{ error: { field: string } }>().error.field, 'anonymize_ips')
    assert.equal((await f.call('PATCH', path, { anonymize_ips: null }, f.teamToken)).status, 400, 'null is no answer')
    const renamed = await f.call('PATCH', path, { name: 'taken over' }, f.teamToken)
    assert.equal(renamed.status, 400)
    assert.match(renamed.json<{ error: { message: string } }>().error.message, /^name cannot be changed here: only anonymize_ips$/)
    assert.equal((await f.call('GET', '/api/teams/999999', undefined)).status, 404)
    assert.deepEqual(await f.ok('PATCH', path, { anonymize_ips: false }, 200), { ...settings, anonymize_ips: false }, 'and the operator may')
  })
})
