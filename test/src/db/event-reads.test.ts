import assert from 'node:assert/strict'
import { countEventsByName, countTeamEventsNamed, insertEvents, readLatestEvent } from '@plugin-server/db'
import { createTestDatabase, TestDatabase } from '../harness/databases'
import { ingestEvent } from './ingest-event'

describe('event reads (what plugin-server demo prints)', () => {
  let db: TestDatabase
  before(async () => {
    db = await createTestDatabase()
    await insertEvents(db.pool, [
      ingestEvent({ event: '$pageview', timestamp: '2026-01-01T10:00:00.000Z', properties: { greeting: 'old' } }),
      ingestEvent({ event: '$pageview', timestamp: '2026-01-01T11:00:00.000Z', properties: { greeting: 'new' } }),
      ingestEvent({ event: '$identify' }),
      ingestEvent({ team_id: 2, event: '$pageview', timestamp: '2026-01-01T12:00:00.000Z', properties: { greeting: 'other team' } }),
    ])
  })
  after(async () => db.drop())

  it("counts a team's events per name, most frequent first, leaving other teams out", async () => {
    assert.deepEqual(await countEventsByName(db.pool, 1), [
      { event: '$pageview', n: 2 },
      { event: '$identify', n: 1 },
    ])
  })

  it('counts the events of one name, or with except all the others', async () => {
    assert.equal(await countTeamEventsNamed(db.pool, 1, '$pageview'), 2)
    assert.equal(await countTeamEventsNamed(db.pool, 1, '$identify', { except: true }), 2)
    assert.equal(await countTeamEventsNamed(db.pool, 1, 'never sent'), 0)
  })

  it("reads the team's latest event of a name by its timestamp, and null when there is none", async () => {
    const latest = await readLatestEvent(db.pool, 1, '$pageview')
    assert.deepEqual({ event: latest?.event, greeting: latest?.properties.greeting }, { event: '$pageview', greeting: 'new' })
    assert.equal(await readLatestEvent(db.pool, 1, 'never sent'), null)
  })
})
