import assert from 'node:assert/strict'
import { loadConfig } from '@plugin-server/core'
import { createTeam, deleteDeadLettersBefore, insertPluginLogs, NewPluginLogRow } from '@plugin-server/db'
import { PluginRuntime, startPluginRuntime } from '@plugin-server/plugin-runtime'
import { DeadLetterRetention, PluginLogRetention, schedulingConfig, startScheduler, StartedScheduler } from '@plugin-server/scheduling'
import pino from 'pino'
import { Registry } from 'prom-client'
import { withClockAhead } from '../harness/clock-ahead'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { enablePlugin, managementContext } from '../harness/plugins'
import { testRoleContext } from '../harness/role-context'

const DAY_MS = 86_400_000
const daysAgo = (days: number) => new Date(Date.now() - days * DAY_MS)

/** Dead letters of one config: `created` days ago, replayed `replayed` days ago (null: not replayed), `error` naming them. */
async function seed(db: TestDatabase, letters: { created: number; replayed: number | null; error: string }[]): Promise<void> {
  const team = await createTeam(db.pool, 'dead letters')
  const management = managementContext(db.pool, testQueuePrefix())
  try {
    const config = await enablePlugin(management, team.id, 'export-batch', { url: 'http://127.0.0.1:9/' })
    for (const [i, l] of letters.entries()) {
      await db.pool.query(
        `INSERT INTO export_dead_letters (job_key, plugin_config_id, team_id, method, events, event_count, error, retry_error, attempts,
           first_attempt_at, last_attempt_at, created_at, replayed_at)
         VALUES ($1, $2, $3, 'exportEvents', '[]', 0, $4, false, 1, $5, $5, $5, $6)`,
        [`job-${i}`, config.id, team.id, l.error, daysAgo(l.created), l.replayed === null ? null : daysAgo(l.replayed)],
      )
    }
  } finally {
    await management.close()
  }
}

const left = async (db: TestDatabase) =>
  (await db.pool.query<{ error: string }>('SELECT error FROM export_dead_letters ORDER BY error')).rows.map((r) => r.error)

describe('export dead letter retention', function () {
  this.timeout(60_000)

  describe('deleteDeadLettersBefore', () => {
    let db: TestDatabase
    beforeEach(async () => (db = await createTestDatabase()))
    afterEach(async () => db.drop())

    it('deletes letters not replayed by their creation and replayed ones by their replay, in batches, keeping the rest', async () => {
      await seed(db, [
        ...[1, 2, 3].map((n) => ({ created: 40, replayed: null, error: `pending old ${n}` })),
        { created: 10, replayed: null, error: 'pending recent' },
        ...[1, 2].map((n) => ({ created: 40, replayed: 10, error: `replayed long ago ${n}` })),
        { created: 40, replayed: 2, error: 'replayed lately' },
      ])

      assert.deepEqual(await deleteDeadLettersBefore(db.pool, { pending: daysAgo(30), replayed: daysAgo(7) }, 2), { pending: 3, replayed: 2 })

      assert.deepEqual(await left(db), ['pending recent', 'replayed lately'])
    })

    it('keeps a kind whose cutoff is null (its retention 0)', async () => {
      await seed(db, [
        { created: 400, replayed: null, error: 'pending' },
        { created: 400, replayed: 300, error: 'replayed' },
      ])
      assert.deepEqual(await deleteDeadLettersBefore(db.pool, { pending: null, replayed: daysAgo(7) }), { pending: 0, replayed: 1 })
      assert.deepEqual(await left(db), ['pending'])
    })
  })

  describe('DeadLetterRetention and PluginLogRetention on a replica whose clock runs ahead', () => {
    let db: TestDatabase
    beforeEach(async () => (db = await createTestDatabase()))
    afterEach(async () => db.drop())
    const logger = pino({ level: 'silent' })

    it("delete by the database's clock: a replica 10 days ahead keeps the letters and log rows still within their days", async () => {
      await seed(db, [
        { created: 25, replayed: null, error: 'pending 25 days' },
        { created: 40, replayed: null, error: 'pending 40 days' },
      ])
      const logRow = (days: number, message: string): NewPluginLogRow => ({
        ...{ team_id: 1, plugin_id: 1, plugin_config_id: 1, source: 'CONSOLE', type: 'LOG', instance_id: 'i' },
        timestamp: daysAgo(days).toISOString(),
        message,
      })
      await insertPluginLogs(db.pool, [logRow(10, '10 days'), logRow(20, '20 days')])
      const [letters, rows] = await withClockAhead(10, async () => [
        await new DeadLetterRetention(db.pool, logger, new Registry(), { pending: 30, replayed: 7 }).runOnce(),
        await new PluginLogRetention(db.pool, logger, new Registry(), 14).runOnce(),
      ])
      assert.deepEqual(letters, { pending: 1, replayed: 0 })
      assert.deepEqual(await left(db), ['pending 25 days'])
      assert.equal(rows, 1)
      const { rows: logs } = await db.pool.query<{ message: string }>('SELECT message FROM plugin_log_entries')
      assert.deepEqual(
        logs.map((l) => l.message),
        ['10 days'],
      )
    })
  })

  describe('the scheduler role', () => {
    let db: TestDatabase
    let ctx: ReturnType<typeof testRoleContext>
    let runtime: PluginRuntime
    let scheduler: StartedScheduler
    before(async () => {
      db = await createTestDatabase()
      await seed(db, [
        { created: 40, replayed: null, error: 'pending old' },
        { created: 3, replayed: null, error: 'pending recent' },
        { created: 40, replayed: 3, error: 'replayed 3 days ago' },
        { created: 40, replayed: 1, error: 'replayed yesterday' },
      ])
      ctx = testRoleContext('scheduler', { DATABASE_URL: db.url, QUEUE_PREFIX: testQueuePrefix(), EXPORT_DEAD_LETTER_REPLAYED_RETENTION_DAYS: '2' })
      runtime = await startPluginRuntime(ctx)
      scheduler = await startScheduler(ctx, runtime, schedulingConfig(ctx.config))
    })
    after(async () => {
      for (const closer of scheduler?.closers ?? runtime?.closers ?? []) await closer.close()
      await ctx?.close()
      await db.drop()
    })

    it('deletes dead letters past EXPORT_DEAD_LETTER_RETENTION_DAYS (30 by default) and EXPORT_DEAD_LETTER_REPLAYED_RETENTION_DAYS when it starts, counting them', async () => {
      await eventually(
        'export_dead_letters_retention_deleted_total',
        () => ctx.registry.metrics(),
        (text) =>
          /^export_dead_letters_retention_deleted_total\{kind="pending"\} 1$/m.test(text) &&
          /^export_dead_letters_retention_deleted_total\{kind="replayed"\} 1$/m.test(text),
      )
      assert.deepEqual(await left(db), ['pending recent', 'replayed yesterday'])
    })
  })

  it('keeps letters 30 days, replayed ones 7 days by default; 0 keeps them; a wrong value names the variable', () => {
    const pick = (env: Record<string, string>) => {
      const { deadLetterRetentionDays, deadLetterReplayedRetentionDays } = loadConfig(env).export
      return [deadLetterRetentionDays, deadLetterReplayedRetentionDays]
    }
    assert.deepEqual(pick({}), [30, 7])
    assert.deepEqual(pick({ EXPORT_DEAD_LETTER_RETENTION_DAYS: '0', EXPORT_DEAD_LETTER_REPLAYED_RETENTION_DAYS: '0' }), [null, null])
    assert.throws(
      () => loadConfig({ EXPORT_DEAD_LETTER_RETENTION_DAYS: 'a month' }),
      /EXPORT_DEAD_LETTER_RETENTION_DAYS: expected an integer between 0 and 36500, got "a month"/,
    )
    assert.throws(
      () => loadConfig({ EXPORT_DEAD_LETTER_REPLAYED_RETENTION_DAYS: '-1' }),
      /EXPORT_DEAD_LETTER_REPLAYED_RETENTION_DAYS: expected an integer between 0 and 36500, got "-1"/,
    )
  })
})
