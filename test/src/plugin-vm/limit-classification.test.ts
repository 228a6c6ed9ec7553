import assert from 'assert/strict'
import { PluginInstance, PluginLimitError } from '@plugin-server/plugin-vm'
import { loadCode, loadFixture, rejection } from './helpers'

/** Holds the event loop like a machine too busy to run timers and callbacks when they are due. */
function holdEventLoop(until: () => boolean, boundMs = 60_000): void {
  const start = Date.now()
  while (!until() && Date.now() - start < boundMs) {
    // Busy on purpose: no timer or isolated-vm callback may run until the condition holds.
  }
}

/**
 * A breach is reported by what the isolate hit, not by which notification the host handles first: on
 * a busy machine the call's deadline timer can run before isolated-vm's memory-limit rejection.
 */
describe('plugin-vm: limit errors are classified by cause', () => {
  const instances: PluginInstance[] = []
  afterEach(() => instances.splice(0).forEach((i) => i.dispose()))

  async function memoryBomb(timeoutMs: number) {
    const loaded = await loadFixture('hostile', { config: { mode: 'memory-bomb' } }, { timeoutMs, memoryLimitMb: 32 })
    instances.push(loaded.instance)
    return loaded
  }

  /** How long filling 32 MB takes on this machine now, so the deadline below is one the bomb beats. */
  async function bombFillTimeMs(): Promise<number> {
    const { instance } = await memoryBomb(120_000)
    const started = Date.now()
    const error = await rejection(instance.processEventBatch([{ event: 'e' }]))
    assert.ok(error instanceof PluginLimitError && error.limit === 'memory', `calibration: ${error.message}`)
    return Date.now() - started
  }

  it('reports memory when the deadline timer runs before the memory-limit rejection arrives', async () => {
    // isolated-vm's own timeout (the same deadline) must not stop the bomb before it fills the heap.
    const timeoutMs = Math.max(1_000, 3 * (await bombFillTimeMs()))
    const { host, instance } = await memoryBomb(timeoutMs)
    const started = Date.now()
    const call = rejection(instance.processEventBatch([{ event: 'e' }]))
    // The call starts after queued steps (the concurrency bound), all run before the next macrotask.
    await new Promise((resolve) => setImmediate(resolve))
    // The isolate fills its heap on its own thread while this thread is held past the deadline, so
    // the deadline timer and the memory-limit rejection are both due when the loop runs again.
    holdEventLoop(() => instance.disposed && Date.now() - started > timeoutMs + 100)
    assert.ok(instance.disposed, 'the bomb filled its heap while the loop was held')

    const error = await call
    assert.ok(error instanceof PluginLimitError, `${error.name}: ${error.message}`)
    assert.equal(error.limit, 'memory')
    assert.match(error.message, /exceeded its memory limit \(32 MB\)/)
    assert.ok(host.logs.some((l) => l.level === 'error' && l.message.includes('exceeded its memory limit')))
    assert.ok(!host.logs.some((l) => l.message.includes('time limit')))
  })

  it('still reports time for a call that never finishes and never fills its heap', async () => {
    const { instance } = await loadFixture('hostile', { config: { mode: 'never-resolves' } }, { timeoutMs: 300, memoryLimitMb: 32 })
    instances.push(instance)
    const error = await rejection(instance.processEventBatch([{ event: 'e' }]))
    assert.ok(error instanceof PluginLimitError, `${error.name}: ${error.message}`)
    assert.equal(error.limit, 'time')
    assert.equal(instance.disposed, true)
  })

  describe('a call its caller retries when it ran out of time waiting (CallOptions.retriedWhenWaiting, the exporters)', () => {
    const load = async (code: string) => {
      const breaches: PluginLimitError[] = []
      const { instance } = await loadCode(code, {}, { timeoutMs: 400, onBreach: (error) => breaches.push(error) })
      instances.push(instance)
      return { instance, breaches }
    }

    it('fails it with a time limit error and disposes the isolate, but tells the breach listener nothing when it spent the deadline waiting', async () => {
      const { instance, breaches } = await load(`export async function onEvent() { await new Promise(() => {}) }`)
      const error = await rejection(instance.call('onEvent', [{ event: 'e' }], { retriedWhenWaiting: true }))
      assert.ok(error instanceof PluginLimitError, `${error.name}: ${error.message}`)
      assert.equal(error.limit, 'time')
      assert.match(error.message, /exceeded its time limit \(400 ms\) waiting, not computing \(not counted as a breach\)/)
      assert.equal(instance.disposed, true)
      assert.deepEqual(breaches, [])
    })

    it('counts it as a breach when it spent the deadline computing', async () => {
      const { instance, breaches } = await load(`export async function onEvent() { await Promise.resolve(); for (;;) {} }`)
      const error = await rejection(instance.call('onEvent', [{ event: 'e' }], { retriedWhenWaiting: true }))
      assert.ok(error instanceof PluginLimitError && error.limit === 'time', `${error.name}: ${error.message}`)
      assert.deepEqual(
        breaches.map((b) => b.limit),
        ['time'],
      )
    })

    it('counts a wait as a breach for callers that do not retry (processEvent)', async () => {
      const { instance, breaches } = await load(`export async function processEvent() { await new Promise(() => {}) }`)
      const error = await rejection(instance.processEventBatch([{ event: 'e' }]))
      assert.ok(error instanceof PluginLimitError && error.limit === 'time', `${error.name}: ${error.message}`)
      assert.equal(breaches.length, 1)
    })
  })
})
