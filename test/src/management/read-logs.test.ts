import assert from 'node:assert/strict'
import { createConfig, installPluginFromPath, readLogs } from '@plugin-server/management'
import { BASIC, createTeamRow, insertLog, ManagementHarness, SECRET, startManagement } from './management-fixture'

describe('readLogs', () => {
  let h: ManagementHarness
  let configId: number

  before(async () => {
    h = await startManagement()
    const teamId = await createTeamRow(h)
    await installPluginFromPath(h.ctx, BASIC)
    configId = (await createConfig(h.ctx, { teamId, plugin: 'management-basic', config: { apiKey: SECRET, label: 'L' } })).id
    await insertLog(h, configId, 'INFO', 'SYSTEM', 'plugin loaded')
    await insertLog(h, configId, 'LOG', 'CONSOLE', 'processing 100% of events_x')
    await insertLog(h, configId, 'ERROR', 'PLUGIN', 'processEvent failed')
    await insertLog(h, configId, 'WARN', 'CONSOLE', `calling the API with ${SECRET}`)
  })

  after(async () => {
    await h.close()
  })

  it('returns the latest rows oldest first, with a limit', async () => {
    const rows = await readLogs(h.ctx, configId)
    assert.deepEqual(
      rows.map((r) => r.type),
      ['INFO', 'LOG', 'ERROR', 'WARN'],
    )
    assert.equal(typeof rows[0].id, 'number')
    assert.deepEqual(
      (await readLogs(h.ctx, configId, { limit: 2 })).map((r) => r.type),
      ['ERROR', 'WARN'],
    )
  })

  it('filters by level and source, case-insensitive, repeatable or comma-separated', async () => {
    assert.deepEqual(
      (await readLogs(h.ctx, configId, { levels: ['error', 'warn'] })).map((r) => r.type),
      ['ERROR', 'WARN'],
    )
    assert.deepEqual(
      (await readLogs(h.ctx, configId, { levels: ['info,log'] })).map((r) => r.type),
      ['INFO', 'LOG'],
    )
    assert.deepEqual(
      (await readLogs(h.ctx, configId, { sources: ['console'] })).map((r) => r.type),
      ['LOG', 'WARN'],
    )
  })

  it('pages strictly after an id, oldest first, and searches the message literally', async () => {
    const all = await readLogs(h.ctx, configId)
    assert.deepEqual(
      (await readLogs(h.ctx, configId, { afterId: all[1].id })).map((r) => r.id),
      [all[2].id, all[3].id],
    )
    assert.deepEqual(
      (await readLogs(h.ctx, configId, { afterId: all[0].id, limit: 2 })).map((r) => r.id),
      [all[1].id, all[2].id],
      'the first rows after the id, oldest first: a follower pages forward without gaps',
    )
    assert.deepEqual(
      (await readLogs(h.ctx, configId, { search: '100%' })).map((r) => r.message),
      ['processing 100% of events_x'],
    )
    assert.deepEqual(await readLogs(h.ctx, configId, { search: '100_' }), [])
  })

  it("scrubs the config's secret from what the plugin printed", async () => {
    const rows = await readLogs(h.ctx, configId, { levels: ['warn'] })
    assert.equal(rows[0].message, 'calling the API with [secret]')
  })

  it('refuses unknown filters and missing configs with a clear message', async () => {
    await assert.rejects(readLogs(h.ctx, configId, { levels: ['loud'] }), { status: 400, message: 'level "LOUD" is not one of debug, log, info, warn, error' })
    await assert.rejects(readLogs(h.ctx, configId, { limit: 5000 }), { status: 400, message: 'limit must be an integer between 1 and 1000' })
    await assert.rejects(readLogs(h.ctx, 999), { status: 404, message: 'plugin config 999 not found' })
  })
})
