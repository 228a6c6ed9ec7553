import assert from 'assert/strict'
import path from 'path'

// Internal to plugin-vm (the isolate's instance uses it), so loaded by path as host-work-limits.test.ts does.
const { SyncPromiseGate } = require(
  path.resolve(__dirname, '../../../libs/plugin-vm/dist/vm/sync-promise-gate.js'),
) as typeof import('@plugin-server/plugin-vm/dist/vm/sync-promise-gate')

/** A promise settled from outside, as host work's is. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
  let resolve!: (value: T) => void
  let reject!: (error: Error) => void
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)))
  return { promise, resolve, reject }
}

/** Lets every pending microtask and one turn of the event loop run. */
const turn = () => new Promise((r) => setImmediate(r))

/** Stands in for an isolated-vm Isolate: its dispose is recorded in `events`. */
function isolate(events: string[] = []): { isDisposed: boolean; dispose: () => void } {
  const fake = {
    isDisposed: false,
    dispose: () => {
      fake.isDisposed = true
      events.push('disposed')
    },
  }
  return fake
}

/** Stands in for isolated-vm's reaction, added when applySyncPromise gets the promise. */
function watch(handed: Promise<unknown>, events: string[]): void {
  handed.then(
    (value) => events.push(`reaction: ${String(value)}`),
    (error: Error) => events.push(`reaction: ${error.message}`),
  )
}

describe('plugin-vm: SyncPromiseGate, between host work and a disposed isolate', () => {
  it('hand: passes a value through the transfer, and a rejection as it is', async () => {
    const gate = new SyncPromiseGate(isolate())
    assert.equal(
      await gate.hand(
        () => Promise.resolve(2),
        (v) => `copied ${v}`,
      ),
      'copied 2',
    )
    await assert.rejects(
      gate.hand(() => Promise.reject(new Error('zlib failed')), String),
      /^Error: zlib failed$/,
    )
  })

  it("hand: rejects with the transfer's error when the value cannot be copied in", async () => {
    const gate = new SyncPromiseGate(isolate())
    const handed = gate.hand(
      () => Promise.resolve(1),
      () => {
        throw new TypeError('could not be cloned')
      },
    )
    await assert.rejects(handed, /could not be cloned/)
  })

  it('hand: refuses at once, starting no work, once the isolate is going or gone', () => {
    let started = 0
    const start = () => (started++, Promise.resolve(1))
    const closed = new SyncPromiseGate(isolate())
    closed.close()
    assert.throws(() => closed.hand(start, String), /^Error: the isolate was disposed$/)
    const disposedByItself = isolate()
    const selfDisposed = new SyncPromiseGate(disposedByItself)
    disposedByItself.isDisposed = true
    assert.throws(() => selfDisposed.hand(start, String), /^Error: the isolate was disposed$/)
    assert.equal(started, 0)
  })

  it('close: disposes at once when nothing is on its way, and work that ends afterwards never settles its promise', async () => {
    const events: string[] = []
    const gate = new SyncPromiseGate(isolate(events))
    const fulfilled = deferred<number>()
    const rejected = deferred<number>()
    let transfers = 0
    watch(
      gate.hand(
        () => fulfilled.promise,
        (v) => (transfers++, v),
      ),
      events,
    )
    watch(
      gate.hand(() => rejected.promise, String),
      events,
    )
    gate.close()
    assert.deepEqual(events, ['disposed'])
    fulfilled.resolve(1)
    rejected.reject(new Error('stopped with the isolate'))
    await turn()
    await turn()
    assert.deepEqual(events, ['disposed'], 'no reaction ran after the dispose')
    assert.equal(transfers, 0, 'no value was made for an isolate that is gone')
  })

  it('close: asked for while a settled value is on its way, disposes only after the reaction has run', async () => {
    const events: string[] = []
    const gate = new SyncPromiseGate(isolate(events))
    const work = deferred<string>()
    const handed = gate.hand(
      () => work.promise,
      (v) => v,
    )
    watch(handed, events)
    // Runs right after the gate has settled its promise, before the reaction to it (as a breach in the same checkpoint would).
    void work.promise.then(() => gate.close())
    work.resolve('12 MB compressed')
    await turn()
    assert.deepEqual(events, ['reaction: 12 MB compressed', 'disposed'])
  })

  it('close: waits for every value on its way, then disposes once', async () => {
    const events: string[] = []
    const gate = new SyncPromiseGate(isolate(events))
    const a = deferred<string>()
    const b = deferred<string>()
    watch(
      gate.hand(
        () => a.promise,
        (v) => v,
      ),
      events,
    )
    watch(
      gate.hand(
        () => b.promise,
        (v) => v,
      ),
      events,
    )
    void b.promise.catch(() => gate.close())
    a.resolve('a')
    b.reject(new Error('b'))
    await turn()
    assert.deepEqual(events, ['reaction: a', 'reaction: b', 'disposed'])
  })
})
