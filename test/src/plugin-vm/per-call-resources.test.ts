import assert from 'assert/strict'
import { PluginInstance } from '@plugin-server/plugin-vm'
import { loadCode } from './helpers'

/** What one call leaves behind must not add up: N calls cost what one does. */
describe('plugin-vm: nothing is kept per call', () => {
  let instance: PluginInstance | undefined
  afterEach(() => instance?.dispose())

  // 100 events of ~2 KB: each batch's result is ~200 KB; 400 batches are ~80 MB of results.
  const batch = Array.from({ length: 100 }, (_, i) => JSON.stringify({ event: `e${i}`, properties: { blob: 'y'.repeat(2000) + i } }))

  it('lets go of each batch result once the host has it, so an identity plugin never reaches a 32 MB heap', async () => {
    instance = (await loadCode(`export function processEvent(e) { return e }`, {}, { memoryLimitMb: 32 })).instance
    for (let n = 0; n < 400; n++) await instance.processEventBatchJson(batch)
    assert.equal(instance.disposed, false)
    assert.ok(instance.stats().heapUsedBytes < 16 * 1024 * 1024, `heap after 400 batches: ${instance.stats().heapUsedBytes} bytes`)
  })

  it('lets go of single-event and job results the same way', async () => {
    const big = { event: 'e', properties: { blob: 'z'.repeat(200_000) } }
    instance = (await loadCode(`export function processEvent(e) { return e }\nexport const jobs = { echo: (p) => p }`, {}, { memoryLimitMb: 32 })).instance
    for (let n = 0; n < 200; n++) {
      await instance.call('processEvent', [big])
      await instance.runJob('echo', big)
    }
    assert.equal(instance.disposed, false)
    assert.ok(instance.stats().heapUsedBytes < 16 * 1024 * 1024, `heap after 400 calls: ${instance.stats().heapUsedBytes} bytes`)
  })

  it('still returns the real result of a call whose plugin left a promise rejected', async () => {
    instance = (await loadCode(`export function processEvent(e) { Promise.reject(new Error('floating')); return { ...e, seen: true } }`)).instance
    for (let n = 0; n < 3; n++) assert.deepEqual(await instance.call('processEvent', [{ event: 'e' }]), { event: 'e', seen: true })
  })
})
