import assert from 'node:assert/strict'
import type { Pool } from 'pg'
import { TeamResolver } from '@plugin-server/capture-lib'
import { createTeam } from '@plugin-server/db'
import { createTestDatabase, TestDatabase } from '../harness/databases'

/** The pool, counting the queries sent through it. */
function counting(pool: Pool): { pool: Pool; queries: () => number } {
  let queries = 0
  const counted = Object.create(pool) as Pool
  counted.query = ((...args: Parameters<Pool['query']>) => {
    queries++
    return (pool.query as (...a: unknown[]) => unknown)(...args)
  }) as Pool['query']
  return { pool: counted, queries: () => queries }
}

describe('TeamResolver', () => {
  let db: TestDatabase
  before(async () => (db = await createTestDatabase()))
  after(async () => db.drop())

  it('teamId: answers a team’s token and null for a token no team has, each looked up once while cached', async () => {
    const team = await createTeam(db.pool, 'resolver')
    const { pool, queries } = counting(db.pool)
    const resolver = new TeamResolver(pool)
    assert.equal(await resolver.teamId(team.api_token), team.id)
    assert.equal(await resolver.teamId('no-such-token'), null)
    assert.equal(await resolver.teamId(team.api_token), team.id)
    assert.equal(await resolver.teamId('no-such-token'), null)
    assert.equal(queries(), 2)
  })

  it('teamId: 50 requests for one token at once make one query', async () => {
    const team = await createTeam(db.pool, 'at once')
    const { pool, queries } = counting(db.pool)
    const resolver = new TeamResolver(pool)
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => resolver.teamId(i % 2 ? team.api_token : 'made-up')))
    assert.deepEqual(new Set(answers), new Set([team.id, null]))
    assert.equal(queries(), 2)
  })

  it('teamId: a flood of made-up tokens does not push a team’s token out of the cache', async () => {
    const team = await createTeam(db.pool, 'flooded')
    const { pool, queries } = counting(db.pool)
    const resolver = new TeamResolver(pool, 60_000, 100, 10)
    await resolver.teamId(team.api_token)
    for (let i = 0; i < 50; i++) await resolver.teamId(`made-up-${i}`)
    const before = queries()
    assert.equal(await resolver.teamId(team.api_token), team.id)
    assert.equal(queries(), before, 'the team’s answer was still cached')
    await resolver.teamId('made-up-0')
    assert.equal(queries(), before + 1, 'the oldest made-up token was let go')
  })
})
