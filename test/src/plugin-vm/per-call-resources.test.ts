import assert from 'assert/strict'
import { constants, PerformanceObserver } from 'node:perf_hooks'
import v8 from 'node:v8'
import { PluginInstance, ResultCollector, resultCollector } from '@plugin-server/plugin-vm'
import { waitFor } from '../harness/wait'
import { loadCode } from './helpers'

/** Counts the host's forced major GCs from now on (what ResultCollector runs; V8's own are not forced). */
function forcedMajorGcs(): { count: () => number; stop: () => void } {
  let count = 0
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const { kind, flags } = (entry as unknown as { detail: { kind: number; flags: number } }).detail
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR && (flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0) count++
    }
  })
  observer.observe({ entryTypes: ['gc'] })
  return { count: () => count, stop: () => observer.disconnect() }
}

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

  it('frees the copies of past batches: the external memory of 2 000 batches of 7 KB stays under 8 MB', async () => {
    instance = (await loadCode(`export async function processEvent(e) { await null; return e }`)).instance
    const small = Array.from({ length: 25 }, (_, i) => JSON.stringify({ event: `e${i}`, properties: { blob: 'w'.repeat(250) + i } }))
    for (let n = 0; n < 2000; n++) await instance.processEventBatchJson(small)
    // Without the sandbox's collections this reached ~15 MB per 2 000 batches and went on growing (90 MB after 12 000 in the soak run).
    assert.ok(instance.stats().externalBytes < 8 * 1024 * 1024, `external memory after 2 000 batches: ${instance.stats().externalBytes} bytes`)
  })

  // Only a full collection clears a WeakRef (V8's scavenges keep its target), and calls this small
  // never bring the isolate to V8's own limit: without the count, such an object outlived 2 000 calls.
  const weakRefPlugin = `let ref = null
export function processEvent(e) { if (e.event === 'new') ref = new WeakRef({ left: [1, 2, 3] }); return { ...e, gone: ref.deref() === undefined } }`

  /** Calls until the object only a WeakRef holds is gone; 0 if it outlived `calls` calls. */
  async function goneAfter(plugin: PluginInstance, calls: number): Promise<number> {
    for (let n = 1; n <= calls; n++) {
      const result = (await plugin.call('processEvent', [{ event: n === 1 ? 'new' : 'e' }])) as { gone: boolean }
      if (result.gone) return n
    }
    return 0
  }

  it('collects an isolate of small calls after its first 64: an object only a WeakRef holds is gone within 72', async () => {
    instance = (await loadCode(weakRefPlugin)).instance
    const goneAt = await goneAfter(instance, 72)
    assert.ok(goneAt > 0, 'the object was still there after 72 calls')
    assert.ok(goneAt > 64, `gone at call ${goneAt}, before the 64th call's collection`)
  })

  it('collects by call count at most once per 10 s: 64 more calls right after a collection leave the next object alone', async () => {
    instance = (await loadCode(weakRefPlugin)).instance
    assert.ok((await goneAfter(instance, 72)) > 0, 'the first collection came')
    const started = Date.now()
    const goneAt = await goneAfter(instance, 140)
    const elapsed = Date.now() - started
    assert.ok(elapsed < 9000, `140 calls took ${elapsed} ms: too slow to tell`)
    assert.equal(goneAt, 0, `a second collection ${elapsed} ms after the first, at call ${goneAt}`)
  })

  it('ResultCollector runs one major GC of the host each time the results it was told of reach its size', async () => {
    const gcs = forcedMajorGcs()
    try {
      const collector = new ResultCollector(1000, 0)
      collector.received('r'.repeat(600))
      collector.received('r'.repeat(600))
      await waitFor('forced major GCs', gcs.count, (n) => n >= 1)
      assert.equal(gcs.count(), 1, 'one collection for 1 200 characters, none for the first 600')
      collector.received('r'.repeat(600))
      collector.received('r'.repeat(600))
      await waitFor('forced major GCs', gcs.count, (n) => n >= 2)
      assert.equal(gcs.count(), 2)
    } finally {
      gcs.stop()
    }
  })

  it('ResultCollector waits for results of four times the heap a collection left, when that is more than its size', () => {
    const collector = new ResultCollector(1000)
    collector.received('r'.repeat(1000))
    const heap = v8.getHeapStatistics().used_heap_size
    // The heap moves a little between the collection and this read.
    assert.ok(
      Math.abs(collector.nextCollectionAfter - 4 * heap) < heap / 4,
      `next collection after ${collector.nextCollectionAfter} characters, heap ${heap} bytes`,
    )
    collector.received('r'.repeat(600))
    assert.ok(collector.nextCollectionAfter > 4 * heap - heap / 4 - 600)
  })

  it('counts every batch result an isolate sends the host: enough batches start a collection of the host', async () => {
    instance = (await loadCode(`export function processEvent(e) { return e }`)).instance
    const gcs = forcedMajorGcs()
    try {
      // The process-wide collector's state is what earlier tests left: send what it still waits for, and a batch more.
      // Each result holds every event it was given (an identity plugin), so it is at least their length.
      const resultChars = batch.join('').length
      const batches = Math.ceil(resultCollector.nextCollectionAfter / resultChars) + 1
      for (let n = 0; n < batches; n++) await instance.processEventBatchJson(batch)
      await waitFor('forced major GCs', gcs.count, (n) => n >= 1)
    } finally {
      gcs.stop()
    }
  })

  it('still returns the real result of a call whose plugin left a promise rejected', async () => {
    instance = (await loadCode(`export function processEvent(e) { Promise.reject(new Error('floating')); return { ...e, seen: true } }`)).instance
    for (let n = 0; n < 3; n++) assert.deepEqual(await instance.call('processEvent', [{ event: 'e' }]), { event: 'e', seen: true })
  })
})
