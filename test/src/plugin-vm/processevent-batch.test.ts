import assert from 'assert/strict'
import type { BatchEventResult, PluginEvent, PluginInstance } from '@plugin-server/plugin-vm'
import { loadCode, rejection } from './helpers'

const events = (...names: string[]): PluginEvent[] => names.map((name, i) => ({ uuid: `uuid-${i}`, team_id: 1, event: name, properties: { n: i } }))

/** The event names of the kept results, null for dropped ones, `error: <message>` for failures. */
function outcomes(results: BatchEventResult[]): (string | null)[] {
  return results.map((r) => (r.ok ? (r.event === null ? null : r.event.event) : `error: ${r.error.message}`))
}

describe('plugin-vm: plugins exporting processEventBatch', () => {
  let instance: PluginInstance | undefined
  afterEach(() => instance?.dispose())

  async function load(code: string): Promise<PluginInstance> {
    instance = (await loadCode(code)).instance
    return instance
  }

  it('lists processEvent among the methods and hands the whole batch to one call, in order, with meta', async () => {
    const plugin = await load(`export function processEventBatch(events, { config }) {
      const names = events.map((e) => e.event).join(',')
      return events.map((e) => ({ ...e, properties: { ...e.properties, batch: names, hasConfig: typeof config === 'object' } }))
    }`)
    assert.ok(plugin.hasMethod('processEvent'))
    const results = await plugin.processEventBatch(events('a', 'b', 'c'))
    assert.deepEqual(outcomes(results), ['a', 'b', 'c'])
    for (const r of results) assert.ok(r.ok && r.event?.properties?.batch === 'a,b,c' && r.event.properties.hasConfig === true)
    assert.equal(plugin.stats().calls, 1, 'one call for the batch')
  })

  it('answers one result per input event when processEventBatch empties the array it was given and returns its own', async () => {
    const plugin = await load(`export function processEventBatch(events) {
      return events.splice(0, events.length).filter((e) => e.event !== 'drop')
    }`)
    assert.deepEqual(outcomes(await plugin.processEventBatch(events('a', 'drop', 'c'))), ['a', null, 'c'])
  })

  it('drops the events the returned array leaves out, and nulls in it are ignored', async () => {
    const plugin = await load(`export async function processEventBatch(events) {
      await Promise.resolve()
      return events.map((e) => (e.event === 'drop' ? null : e)).filter((e, i) => i !== 0)
    }`)
    assert.deepEqual(outcomes(await plugin.processEventBatch(events('first', 'drop', 'keep'))), [null, null, 'keep'])
  })

  it('matches returned events to the batch by uuid, whatever order they come back in', async () => {
    const plugin = await load(`export function processEventBatch(events) {
      return events.slice().reverse().map((e) => ({ ...e, event: e.event.toUpperCase() }))
    }`)
    const results = await plugin.processEventBatch(events('a', 'b', 'c'))
    assert.deepEqual(outcomes(results), ['A', 'B', 'C'])
    assert.deepEqual(
      results.map((r) => r.ok && r.event?.uuid),
      ['uuid-0', 'uuid-1', 'uuid-2'],
    )
  })

  it('takes the uuid a plugin gives an event it was given, changed in place or at its own index of a full array (also another event’s uuid), as PostHog did', async () => {
    const inPlace = await load(`export function processEventBatch(events) {
      events[1].uuid = 'changed-1'
      return events.slice().reverse()
    }`)
    const changed = await inPlace.processEventBatch(events('a', 'b'))
    assert.deepEqual(
      changed.map((r) => r.ok && [r.event?.event, r.event?.uuid]),
      [
        ['a', 'uuid-0'],
        ['b', 'changed-1'],
      ],
    )
    inPlace.dispose()
    const mapped = await load(`export function processEventBatch(events) {
      return events.map((e, i) => (i === 0 ? null : { ...e, uuid: 'new-' + e.uuid }))
    }`)
    assert.deepEqual(
      (await mapped.processEventBatch(events('a', 'b'))).map((r) => r.ok && (r.event?.uuid ?? null)),
      [null, 'new-uuid-1'],
    )
    mapped.dispose()
    const firstWins = await load(`export function processEventBatch(events) {
      return events.map((e) => ({ ...e, uuid: events[0].uuid }))
    }`)
    assert.deepEqual(
      (await firstWins.processEventBatch(events('a', 'b'))).map((r) => r.ok && [r.event?.event, r.event?.uuid]),
      [
        ['a', 'uuid-0'],
        ['b', 'uuid-0'],
      ],
    )
  })

  it('fails every event of the batch, naming the uuid, when a new object with a uuid the batch does not hold cannot be placed', async () => {
    const plugin = await load(`export function processEventBatch(events) {
      return [{ ...events[1], uuid: 'changed' }]
    }`)
    const results = await plugin.processEventBatch(events('a', 'b'))
    for (const r of results) {
      assert.equal(r.ok, false)
      if (!r.ok)
        assert.match(
          r.error.message,
          /processEventBatch returned an event with uuid "changed" at index 0 that is not in the batch: .*not add events.*an event given a new uuid must be the object it was given, or at its own index/,
        )
    }
  })

  it('fails every event when more events come back than went in, or one comes back twice', async () => {
    const more = await load(`export function processEventBatch(events) { return [...events, { event: 'new', uuid: 'new-1' }] }`)
    for (const r of await more.processEventBatch(events('a', 'b'))) {
      assert.ok(!r.ok && /processEventBatch returned 3 entries for a batch of 2 events/.test(r.error.message))
    }
    more.dispose()
    const twice = await load(`export function processEventBatch(events) { return [events[0], events[0]] }`)
    for (const r of await twice.processEventBatch(events('a', 'b'))) {
      assert.ok(!r.ok && /returned the event with uuid "uuid-0" more often than the batch holds it \(again at index 1\)/.test(r.error.message))
    }
  })

  it('fails every event when the result is not an array, or the call throws', async () => {
    const plugin = await load(`export async function processEventBatch(events) {
      if (events[0].event === 'object') return { events }
      if (events[0].event === 'nothing') return undefined
      throw new Error('batch broke')
    }`)
    assert.deepEqual(outcomes(await plugin.processEventBatch(events('object', 'x'))), [
      'error: processEventBatch returned an object, expected an array of events',
      'error: processEventBatch returned an object, expected an array of events',
    ])
    assert.deepEqual(outcomes(await plugin.processEventBatch(events('nothing'))), ['error: processEventBatch returned nothing, expected an array of events'])
    assert.deepEqual(outcomes(await plugin.processEventBatch(events('throw', 'x'))), ['error: batch broke', 'error: batch broke'])
  })

  it('checks each returned event as processEvent results are checked, failing only that event', async () => {
    const plugin = await load(`export function processEventBatch(events) {
      return events.map((e) => (e.event === 'nameless' ? { uuid: e.uuid, properties: {} } : e))
    }`)
    assert.deepEqual(outcomes(await plugin.processEventBatch(events('ok', 'nameless'))), [
      'ok',
      'error: processEventBatch returned an object without an "event" name, expected an event or null',
    ])
  })

  it('matches by the uuids the events arrived with, whatever the plugin did to Object, Array and Map prototypes', async () => {
    const plugin = await load(`export function processEventBatch(events) {
      Object.defineProperty(Object.prototype, 'uuid', { get() { return 'forged' }, configurable: true })
      Object.defineProperty(Array.prototype, '0', { set() {}, configurable: true })
      Map.prototype.get = () => undefined
      Map.prototype.set = function () { return this }
      for (const e of events) e.event += '!'
      return events
    }`)
    // The second batch arrives after the plugin has spoiled the prototypes; its first event has no uuid of its own.
    await plugin.processEventBatch(events('a'))
    const results = await plugin.processEventBatch([{ event: 'sample' }, { event: 'other', uuid: 'u-2' }])
    assert.deepEqual(results, [
      { ok: true, event: { event: 'sample!' } },
      { ok: true, event: { event: 'other!', uuid: 'u-2' } },
    ])
  })

  it('refuses a Proxy claiming a huge length, or one whose traps throw, without walking it', async () => {
    const plugin = await load(`export function processEventBatch(events) {
      if (events[0].event === 'huge') return new Proxy(events, { get: (t, k) => (k === 'length' ? 4294967295 : t[k]) })
      return new Proxy(events, { get: (t, k) => { if (k === '0') throw new Error('trap'); return t[k] } })
    }`)
    assert.deepEqual(outcomes(await plugin.processEventBatch(events('huge'))), [
      'error: processEventBatch returned 4294967295 entries for a batch of 1 events: processEventBatch can change (uuid included) and drop the events it is given, not add events (posthog.capture sends new events); ' +
        'an event given a new uuid must be the object it was given, or at its own index of an array with an entry for every event',
    ])
    assert.deepEqual(outcomes(await plugin.processEventBatch(events('trap', 'x'))), [
      'error: processEventBatch returned events that could not be read: trap',
      'error: processEventBatch returned events that could not be read: trap',
    ])
  })

  it('matches sample events without a uuid by their order, and serves call("processEvent") as a batch of one', async () => {
    const plugin = await load(`export function processEventBatch(events) { return events.map((e) => ({ ...e, seen: events.length })) }`)
    assert.deepEqual(await plugin.processEventBatch([{ event: 'a' }, { event: 'b' }]), [
      { ok: true, event: { event: 'a', seen: 2 } },
      { ok: true, event: { event: 'b', seen: 2 } },
    ])
    assert.deepEqual(await plugin.call('processEvent', [{ event: 'single' }]), { event: 'single', seen: 1 })
  })

  it('rejects call("processEvent") with the error processEventBatch gave', async () => {
    const plugin = await load(`export async function processEventBatch() { return 'no' }`)
    const error = await rejection(plugin.call('processEvent', [{ event: 'e' }]))
    assert.match(error.message, /processEvent failed: Error: processEventBatch returned a string, expected an array of events/)
  })

  it('finds processEventBatch declared at top level without an export, as legacy plugins declare their methods', async () => {
    const plugin = await load(`function processEventBatch(events) { return events.map((e) => ({ ...e, legacy: true })) }`)
    const [result] = await plugin.processEventBatch(events('a'))
    assert.ok(result.ok && result.event?.legacy === true)
  })

  it('uses processEvent when the plugin exports both, as PostHog did', async () => {
    const plugin = await load(`
      export function processEvent(e) { e.properties.by = 'processEvent'; return e }
      export function processEventBatch(events) { return events.map((e) => ({ ...e, properties: { by: 'processEventBatch' } })) }`)
    const [result] = await plugin.processEventBatch(events('a'))
    assert.ok(result.ok && result.event?.properties?.by === 'processEvent')
  })

  it('stops a batch that outruns the deadline like any processEvent call', async () => {
    const plugin = (instance = (await loadCode(`export function processEventBatch(events) { while (true) {} }`, {}, { timeoutMs: 200 })).instance)
    const error = await rejection(plugin.processEventBatch(events('a')))
    assert.match(error.message, /exceeded its time limit \(200 ms\)/)
  })
})
