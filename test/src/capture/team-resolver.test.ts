import assert from 'node:assert/strict'
import type { Pool } from 'pg'
import { TeamResolver } from '@plugin-server/capture-lib'
import { createTeam, setTeamAnonymizeIps } from '@plugin-server/db'
import { createTestDatabase, TestDatabase } from '../harness/databases'
import { eventually } from '../harness/fleet'

/** The pool, counting the queries sent through it; while `hold` is set each query waits for it first (a slow or busy Postgres). */
function counting(pool: Pool): { pool: Pool; queries: () => number; hold: (until: Promise<void> | null) => void } {
  let queries = 0
  let held: Promise<void> | null = null
  const counted = Object.create(pool) as Pool
  counted.query = (async (...args: Parameters<Pool['query']>) => {
    queries++
    if (held) await held
    return (pool.query as (...a: unknown[]) => unknown)(...args)
  }) as Pool['query']
  return { pool: counted, queries: () => queries, hold: (until) => (held = until) }
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

  it('team: answers whether the team anonymises IPs, and a change once its answer is refreshed (ttl)', async () => {
    const team = await createTeam(db.pool, 'private')
    const resolver = new TeamResolver(db.pool, 50)
    assert.deepEqual(await resolver.team(team.api_token), { id: team.id, anonymizeIps: false })
    await setTeamAnonymizeIps(db.pool, team.id, true)
    await eventually(
      'the change seen after the ttl',
      () => resolver.team(team.api_token),
      (t) => t?.anonymizeIps === true,
    )
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

  it('teamId: answers a known team at once past its time while Postgres is slow, and looks it up again once in the background', async () => {
    const team = await createTeam(db.pool, 'slow postgres')
    const { pool, queries, hold } = counting(db.pool)
    const resolver = new TeamResolver(pool, 1)
    assert.equal(await resolver.teamId(team.api_token), team.id)
    await new Promise((resolve) => setTimeout(resolve, 5))
    let release = (): void => undefined
    hold(new Promise<void>((resolve) => (release = resolve)))
    const answers = await Promise.all(Array.from({ length: 20 }, () => resolver.teamId(team.api_token)))
    assert.deepEqual(new Set(answers), new Set([team.id]), 'answered from the cache without waiting for the held query')
    assert.equal(queries(), 2, 'one refresh in flight')
    const newToken = resolver.teamId('not seen yet')
    let settled = false
    void newToken.then(() => (settled = true))
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(settled, false, 'a token not seen yet waits for Postgres')
    release()
    hold(null)
    assert.equal(await newToken, null)
  })

  it('teamId: stops answering a token once a lookup no longer finds its team, and keeps answering it while lookups fail', async () => {
    const team = await createTeam(db.pool, 'going away')
    const { pool, hold } = counting(db.pool)
    const resolver = new TeamResolver(pool, 1)
    assert.equal(await resolver.teamId(team.api_token), team.id)
    const away = Promise.reject(new Error('Postgres is away'))
    away.catch(() => undefined)
    hold(away)
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5))
      assert.equal(await resolver.teamId(team.api_token), team.id, 'a failed refresh keeps the answer')
    }
    hold(null)
    await db.pool.query('UPDATE teams SET api_token = $1 WHERE id = $2', [`${team.api_token}-rotated`, team.id])
    await new Promise((resolve) => setTimeout(resolve, 5))
    assert.equal(await resolver.teamId(team.api_token), team.id, 'the last answer, while the refresh runs')
    await eventually(
      'the rotated token is refused',
      () => resolver.teamId(team.api_token),
      (id) => id === null,
    )
  })
})
