import assert from 'node:assert/strict'
import { Registry } from 'prom-client'
import { createTeam, insertDeadLetterRow, markDeadLettersReplayed } from '@plugin-server/db'
import { registerDeadLetterGauges } from '@plugin-server/scheduling'
import { createTestDatabase, TestDatabase } from '../harness/databases'

describe('pending dead letter gauges (read at every scheduler /metrics scrape)', () => {
  let db: TestDatabase

  before(async () => {
    db = await createTestDatabase()
  })
  after(() => db.drop())

  it("report each team's dead letters not replayed yet and their events, leaving out replayed ones and teams without any", async () => {
    const [failing, replayed, clean] = [await createTeam(db.pool, 'failing'), await createTeam(db.pool, 'replayed'), await createTeam(db.pool, 'clean')]
    const plugin = await db.pool.query<{ id: number }>(`INSERT INTO plugins (name, plugin_json, content_hash) VALUES ('p', '{}', 'h') RETURNING id`)
    const config = async (team: number) =>
      (await db.pool.query<{ id: number }>(`INSERT INTO plugin_configs (team_id, plugin_id) VALUES ($1, $2) RETURNING id`, [team, plugin.rows[0].id])).rows[0]
        .id
    await config(clean.id)
    const letter = async (team: number, configId: number, key: string, eventCount: number) => {
      const now = Date.now()
      await insertDeadLetterRow(db.pool, {
        jobKey: key,
        configId,
        teamId: team,
        method: 'exportEvents',
        eventsJson: JSON.stringify(Array.from({ length: eventCount }, () => ({}))),
        eventCount,
        error: 'destination refused',
        retryError: false,
        attempts: 1,
        firstAttemptAt: now,
        lastAttemptAt: now,
      })
    }
    const failingConfig = await config(failing.id)
    await letter(failing.id, failingConfig, 'a', 3)
    await letter(failing.id, failingConfig, 'b', 4)
    const replayedConfig = await config(replayed.id)
    await letter(replayed.id, replayedConfig, 'c', 5)
    const { rows } = await db.pool.query<{ id: number }>(`SELECT id FROM export_dead_letters WHERE team_id = $1`, [replayed.id])
    await markDeadLettersReplayed(
      db.pool,
      rows.map((r) => r.id),
    )

    const registry = new Registry()
    registerDeadLetterGauges(registry, db.pool)
    const text = await registry.metrics()
    assert.match(text, new RegExp(`^plugin_export_dead_letters_pending\\{team_id="${failing.id}"\\} 2$`, 'm'))
    assert.match(text, new RegExp(`^plugin_export_dead_letter_events_pending\\{team_id="${failing.id}"\\} 7$`, 'm'))
    assert.doesNotMatch(text, new RegExp(`team_id="(${replayed.id}|${clean.id})"`), 'replayed letters and clean teams have no series')
    assert.match(text, /^plugin_export_dead_letters_read_errors_total 0$/m)
  })
})
