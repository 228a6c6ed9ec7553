import assert from 'node:assert/strict'
import {
  deadLetterEvents,
  DeliveryQueue,
  exportKeys,
  finishPending,
  insertDeadLetter,
  listDeadLetters,
  MAX_REPLAYED_PER_REQUEST,
  replayDeadLetters,
} from '@plugin-server/export'
import type { ProcessedPluginEvent } from '@plugin-server/plugin-runtime'
import { runCli } from '../harness/processes'
import { exportSetup, ExportSetup } from './export-setup'

describe('replayDeadLetters', () => {
  let s: ExportSetup
  let deliveries: DeliveryQueue

  beforeEach(async () => {
    s = await exportSetup()
    deliveries = new DeliveryQueue(s.redis, s.prefix)
  })
  afterEach(async () => {
    await deliveries.close()
    await s.close()
  })

  /** A config of the team whose destination failed for good `letters` times, a batch of `events` each. */
  async function configWithDeadLetters(letters: number, events: number): Promise<number> {
    const configId = await s.enable(s.team.id, 'export-batch', { url: `${s.url}/replay` })
    for (let i = 0; i < letters; i++) {
      const batch = Array.from({ length: events }, () => ({}) as ProcessedPluginEvent)
      const letter = {
        jobKey: `lost-${i}`,
        configId,
        teamId: s.team.id,
        method: 'exportEvents' as const,
        events: batch,
        error: 'down',
        retryError: true,
        attempts: [],
      }
      await insertDeadLetter(s.db.pool, letter)
    }
    return configId
  }

  it('replays oldest first while the config has room within half of the pending-event limits, and leaves the rest pending, saying which limit held them', async () => {
    const configId = await configWithDeadLetters(3, 4)
    const limits = { maxPendingEvents: 5, maxTeamPendingEvents: 400_000, maxFleetPendingEvents: 0 }
    const pendingLetters = async () => (await listDeadLetters(s.db.pool, configId)).filter((l) => l.replayedAt === null).map((l) => l.id)
    const [first, second, third] = (await listDeadLetters(s.db.pool, configId)).map((l) => l.id).sort((a, b) => a - b)

    const held = await replayDeadLetters(s.db.pool, deliveries, configId, limits)
    assert.deepEqual(held, {
      replayed: 1,
      events: 4,
      deadLetterIds: [first],
      notReplayed: 2,
      heldBack: `2 dead letters not replayed: plugin config ${configId} already has 4 events waiting for delivery, over half of EXPORT_MAX_PENDING_EVENTS (5). Replay again once those are delivered`,
      remaining: 2,
    })
    assert.deepEqual((await pendingLetters()).sort(), [second, third], 'the two left are still pending dead letters')
    assert.deepEqual(
      (await deliveries.queue.getJobs(['waiting'])).map((j) => j.id),
      [`r-${first}`],
    )

    // The first replayed batch delivered: its room comes back, and the next replay goes on where this one stopped.
    await finishPending(s.redis, exportKeys(s.prefix), { configId, teamId: s.team.id }, `r-${first}`)
    const next = await replayDeadLetters(s.db.pool, deliveries, configId, limits)
    assert.deepEqual([next.replayed, next.deadLetterIds, next.notReplayed, next.remaining], [1, [second], 1, 1])
    assert.deepEqual(await pendingLetters(), [third])
  })

  it('replays at most 1 000 dead letters per call, reading and marking them 50 at a time, and says how many are left for the next call', async () => {
    const configId = await configWithDeadLetters(MAX_REPLAYED_PER_REQUEST + 5, 1)
    const limits = { maxPendingEvents: 0, maxTeamPendingEvents: 0, maxFleetPendingEvents: 0 }
    const pool = s.db.pool
    const query = pool.query.bind(pool)
    const statements: string[] = []
    pool.query = ((text: string, ...rest: unknown[]) => (statements.push(text), (query as (...a: unknown[]) => unknown)(text, ...rest))) as typeof pool.query
    let first
    try {
      first = await replayDeadLetters(pool, deliveries, configId, limits)
    } finally {
      pool.query = query
    }
    assert.deepEqual([first.replayed, first.events, first.remaining, first.notReplayed, first.heldBack], [1000, 1000, 5, 0, null])
    // The list, 20 reads of events and 20 marks of 50 letters each, and the count of those left.
    assert.equal(statements.filter((q) => /export_dead_letters/.test(q)).length, 1 + 20 + 20 + 1)
    const rest = await replayDeadLetters(pool, deliveries, configId, limits)
    assert.deepEqual([rest.replayed, rest.remaining], [5, 0])
    assert.equal((await deliveries.queue.getJobCounts('waiting')).waiting, 1005)
  })

  it('marks the letters it queued before Redis failed mid-batch, so a later replay does not queue them again', async () => {
    const configId = await configWithDeadLetters(5, 1)
    const add = deliveries.addIfRoom.bind(deliveries)
    let calls = 0
    deliveries.addIfRoom = async (delivery, limits) => {
      if (++calls === 3) throw new Error('OOM command not allowed when used memory > maxmemory')
      return add(delivery, limits)
    }
    await assert.rejects(replayDeadLetters(s.db.pool, deliveries, configId, { maxPendingEvents: 0, maxTeamPendingEvents: 0, maxFleetPendingEvents: 0 }), /OOM/)
    const queued = (await deliveries.queue.getJobs(['waiting'])).map((j) => j.id).sort()
    const marked = (await listDeadLetters(s.db.pool, configId))
      .filter((l) => l.replayedAt !== null)
      .map((l) => `r-${l.id}`)
      .sort()
    assert.equal(queued.length, 2)
    assert.deepEqual(marked, queued)
  })

  it('is what plugin-server export replay does, with the limits of its environment', async () => {
    const configId = await configWithDeadLetters(2, 3)
    const env = { DATABASE_URL: s.db.url, REDIS_URL: process.env.REDIS_URL!, QUEUE_PREFIX: s.prefix, EXPORT_TEAM_MAX_PENDING_EVENTS: '4' }
    const result = await runCli(['export', 'replay', String(configId)], env)
    assert.equal(result.code, 0, result.stderr)
    const answer = JSON.parse(result.stdout) as { replayed: number; notReplayed: number; heldBack: string }
    assert.deepEqual([answer.replayed, answer.notReplayed], [1, 1])
    assert.match(
      answer.heldBack,
      new RegExp(
        `^1 dead letter not replayed: team ${s.team.id}'s plugin configs already have 3 events waiting for delivery together, over half of EXPORT_TEAM_MAX_PENDING_EVENTS \\(4\\)`,
      ),
    )
  })

  it('plugin-server export replay asks again until every pending dead letter is replayed, past the 1 000 of one call', async () => {
    const configId = await configWithDeadLetters(MAX_REPLAYED_PER_REQUEST + 3, 1)
    const result = await runCli(['export', 'replay', String(configId)], { DATABASE_URL: s.db.url, REDIS_URL: process.env.REDIS_URL!, QUEUE_PREFIX: s.prefix })
    assert.equal(result.code, 0, result.stderr)
    const answer = JSON.parse(result.stdout) as { replayed: number; remaining: number; heldBack: string | null }
    assert.deepEqual([answer.replayed, answer.remaining, answer.heldBack], [1003, 0, null])
    assert.match(result.stderr, /1000 dead letters replayed, 3 left/)
  })

  it('insertDeadLetter: stores a batch whose event carries a lone surrogate and whose error carries NUL (Postgres refuses both)', async () => {
    const configId = await s.enable(s.team.id, 'export-batch', { url: `${s.url}/replay` })
    const event = { event: 'odd \ud800 text', properties: { note: 'nul \u0000 here' } } as unknown as ProcessedPluginEvent
    const letter = {
      jobKey: 'odd',
      configId,
      teamId: s.team.id,
      method: 'onEvent' as const,
      events: [event],
      error: 'bad \u0000 byte',
      retryError: false,
      attempts: [],
    }
    assert.equal(await insertDeadLetter(s.db.pool, letter), true)
    const [stored] = await listDeadLetters(s.db.pool, configId)
    assert.equal(stored.error, 'bad  byte')
    assert.deepEqual(await deadLetterEvents(s.db.pool, stored.id), [{ event: 'odd \ufffd text', properties: { note: 'nul  here' } }])
  })
})
