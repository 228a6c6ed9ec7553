import assert from 'node:assert/strict'
import { createConfig, installPluginFromPath } from '@plugin-server/management'
import { tryEvent, TryResult } from '@plugin-server/try-it'
import { writePlugin } from '../harness/plugins'
import { createTeamRow, ManagementHarness, startManagement } from '../management/management-fixture'

const BATCH_PLUGIN = `export async function processEventBatch(events) {
  if (events.length !== 1) throw new Error('Try it runs one event at a time')
  const [event] = events
  if (event.properties.drop) return []
  if (event.properties.broken) return 'not an array'
  return [{ ...event, properties: { ...event.properties, tried: true } }]
}`

describe('tryEvent (Try it) with a plugin exporting processEventBatch', function () {
  this.timeout(60_000)
  let h: ManagementHarness
  let teamId: number
  let configId: number

  beforeEach(async () => {
    h = await startManagement()
    teamId = await createTeamRow(h, 'try-batch')
    const installed = await installPluginFromPath(h.ctx, writePlugin('try-batch', BATCH_PLUGIN))
    configId = (await createConfig(h.ctx, { teamId, plugin: installed.plugin.id, config: {}, enabled: true })).id
  })
  afterEach(async () => h.close())

  const run = (properties: Record<string, unknown>): Promise<TryResult> =>
    tryEvent(h.ctx, { teamId, event: { event: 'sample', distinct_id: 'u', properties }, target: { plugin_config_id: configId } })

  it('shows the event the batch returned as the processEvent step', async () => {
    const result = await run({ a: 1 })
    const step = result.steps.find((s) => s.method === 'processEvent')
    assert.ok(step, 'a processEvent step')
    assert.equal(step.error, null)
    assert.equal(result.dropped, false)
    assert.equal((result.output?.properties as Record<string, unknown>).tried, true)
    assert.equal(result.output?.uuid, result.input.uuid)
  })

  it('reports an event left out as dropped, and a result that is not an array as the step’s error', async () => {
    assert.equal((await run({ drop: true })).dropped, true)
    const broken = await run({ broken: true })
    const step = broken.steps.find((s) => s.method === 'processEvent')
    assert.match(step?.error ?? '', /processEventBatch returned a string, expected an array of events/)
    assert.equal((broken.output?.properties as Record<string, unknown>).tried, undefined)
  })
})
