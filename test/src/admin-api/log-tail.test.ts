import assert from 'node:assert/strict'
import { LogTail } from '@plugin-server/admin-api'
import { createConfig, installPluginFromPath } from '@plugin-server/management'
import { BASIC, createTeamRow, insertLog, ManagementHarness, SECRET, startManagement } from '../management/management-fixture'

describe('LogTail', function () {
  this.timeout(30_000)
  let h: ManagementHarness
  let tail: LogTail
  let teamId: number
  let configId: number

  beforeEach(async () => {
    h = await startManagement()
    teamId = await createTeamRow(h)
    await installPluginFromPath(h.ctx, BASIC)
    configId = (await createConfig(h.ctx, { teamId, plugin: 'management-basic', config: { apiKey: SECRET, label: 'L' } })).id
    tail = new LogTail(h.ctx.pool, h.ctx.logger, { maxWaiters: 1, pollMs: 50 })
  })

  afterEach(async () => {
    tail.releaseAll()
    await h.close()
  })

  it('take keeps a long-poll its place between wakes: no other poll takes it while the first reads and waits again', async () => {
    const place = tail.take(teamId)
    const cursor = await insertLog(h, configId, 'INFO', 'SYSTEM', 'before')
    const woken = place.waitPast(configId, cursor, 10_000, new AbortController().signal)
    const row = await insertLog(h, configId, 'INFO', 'SYSTEM', 'a row the poll filters out')
    assert.equal(await woken, row)
    // Between the wake and the next wait (the poll reads its rows then), the place is still its own.
    assert.equal(tail.waiting, 1)
    assert.throws(() => tail.take(teamId), /1 log long-polls are already waiting on this server/)
    const next = place.waitPast(configId, row, 10_000, new AbortController().signal)
    const match = await insertLog(h, configId, 'ERROR', 'PLUGIN', 'the row it waits for')
    assert.equal(await next, match)
    place.release()
    place.release()
    assert.equal(tail.waiting, 0, 'released once, however often release is called')
    tail.take(teamId).release()
  })

  it("answers a released place's wait at once with nothing, and after releaseAll every wait", async () => {
    const place = tail.take(teamId)
    place.release()
    assert.equal(await place.waitPast(configId, 0, 10_000, new AbortController().signal), null)
    const held = tail.take(teamId)
    const waiting = held.waitPast(configId, 1_000_000, 10_000, new AbortController().signal)
    tail.releaseAll()
    assert.equal(await waiting, null)
    assert.equal(await held.waitPast(configId, 1_000_000, 10_000, new AbortController().signal), null)
  })
})
