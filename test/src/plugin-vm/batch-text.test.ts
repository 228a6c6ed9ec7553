import assert from 'assert/strict'
import type { PluginEvent, PluginInstance } from '@plugin-server/plugin-vm'
import { loadCode } from './helpers'

const batch = (...names: string[]): PluginEvent[] => names.map((name, i) => ({ uuid: `uuid-${i}`, event: name, properties: { n: i } }))

describe('plugin-vm: a processEvent batch answered as one text', () => {
  let instance: PluginInstance | undefined
  afterEach(() => instance?.dispose())

  it('answers a code per event, the error of each failed one, and the returned events as the next JSON array', async () => {
    ;({ instance } = await loadCode(`export function processEvent(event) {
      if (event.event === 'drop') return null
      if (event.event === 'fail') throw new Error('failed on purpose')
      event.properties.seen = true
      return event
    }`))
    const events = batch('a', 'drop', 'fail', 'b')
    const answer = await instance.processEventBatchText(JSON.stringify(events), events.length)
    assert.equal(answer.codes, 'ENXE')
    assert.equal(answer.errors.length, 1)
    assert.equal(answer.errors[0].message, 'failed on purpose')
    const returned = JSON.parse(answer.events) as PluginEvent[]
    assert.deepEqual(
      returned.map((e) => [e.event, e.properties]),
      [
        ['a', { n: 0, seen: true }],
        ['b', { n: 3, seen: true }],
      ],
    )
    assert.deepEqual(
      answer.events.split('\n').map((line, i) => JSON.parse(i === 0 ? line.slice(1) : line.slice(1, -1)) as PluginEvent),
      returned,
      'each event on its own line',
    )
  })

  it('answers an empty events array when no event was returned, and the same per-event results through processEventBatchJson', async () => {
    ;({ instance } = await loadCode(`export async function processEvent(event) { if (event.event === 'fail') throw new Error('no'); return null }`))
    const events = batch('drop', 'fail')
    const answer = await instance.processEventBatchText(JSON.stringify(events), events.length)
    assert.deepEqual([answer.codes, answer.events], ['NX', '[]'])
    const results = await instance.processEventBatchJson(events.map((e) => JSON.stringify(e)))
    assert.deepEqual(
      results.map((r) => (r.ok ? r.json : r.error.message)),
      [null, 'no'],
    )
  })
})
