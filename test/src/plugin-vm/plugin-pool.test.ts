import assert from 'assert/strict'
import { PluginInstance, PluginPool, PluginLimitError } from '@plugin-server/plugin-vm'
import { eventually } from '../harness/fleet'
import { loadCode, rejection } from './helpers'

describe('plugin-vm: PluginPool', () => {
  const code = `let n = 0; export function setupPlugin({ global }) { global.ready = true } export function processEvent(e, { global }) { n++; return { ...e, n, ready: global.ready } }`

  function makePool(maxLiveInstances: number, log: string[]) {
    return new PluginPool<number>({
      maxLiveInstances,
      create: async (key) => (await loadCode(code, {}, { configId: key, timeoutMs: 300 })).instance,
      onLoad: async (key, instance) => {
        log.push(`load ${key}`)
        await instance.call('setupPlugin', [])
      },
      onEvict: async (key, _instance, reason) => void log.push(`evict ${key} ${reason}`),
    })
  }

  const run = (instance: PluginInstance) => instance.call('processEvent', [{ event: 'e' }]) as Promise<{ n: number; ready: boolean }>

  it('evicts the least recently used idle instance over the cap and reloads it on next use', async () => {
    const log: string[] = []
    const pool = makePool(2, log)
    try {
      assert.equal((await pool.use(1, run)).n, 1)
      assert.equal((await pool.use(2, run)).n, 1)
      assert.equal((await pool.use(1, run)).n, 2)
      await pool.use(3, run) // 2 is least recently used
      assert.equal(pool.size, 2)
      assert.equal(pool.has(2), false)
      const again = await pool.use(2, run)
      assert.deepEqual([again.n, again.ready], [1, true])
      assert.deepEqual(log, ['load 1', 'load 2', 'evict 2 lru', 'load 3', 'evict 1 lru', 'load 2'])
    } finally {
      await pool.close()
    }
    assert.equal(pool.size, 0)
  })

  it('does not evict busy instances and shares one load between concurrent users', async () => {
    const log: string[] = []
    const pool = makePool(1, log)
    try {
      const results = await Promise.all([pool.use(1, run), pool.use(1, run), pool.use(1, run)])
      assert.deepEqual(results.map((r) => r.n).sort(), [1, 2, 3])
      assert.deepEqual(log, ['load 1'])
      let release!: () => void
      const busy = pool.use(1, () => new Promise<void>((resolve) => (release = resolve)))
      await new Promise((r) => setTimeout(r, 10))
      await pool.use(2, run)
      assert.equal(pool.has(1), true, 'busy instance must not be evicted')
      release()
      await busy
    } finally {
      await pool.close()
    }
  })

  it('lets the calls in flight finish on an evicted instance, serves new calls from a new one, and tears the old one down after', async () => {
    const log: string[] = []
    const pool = makePool(5, log)
    try {
      await pool.use(1, run)
      let release!: () => void
      const started = new Promise<void>((ready) => {
        void pool.use(1, async (instance) => {
          ready()
          await new Promise<void>((resolve) => (release = resolve))
          log.push('in-flight call ends')
          return run(instance)
        })
      })
      await started
      const evicted = pool.evict(1, 'explicit')
      assert.equal(pool.has(1), false, 'taken out of the pool at once')
      const fresh = await pool.use(1, run)
      assert.equal(fresh.n, 1, 'a new instance serves the next call')
      release()
      await evicted
      assert.deepEqual(log, ['load 1', 'load 1', 'in-flight call ends', 'evict 1 explicit'])
    } finally {
      await pool.close()
    }
  })

  describe('close', () => {
    // teardownPlugin takes a few ms in the isolate: a close that did not wait for it returns first.
    const slowTeardown = `export function setupPlugin() {} export function processEvent(e) { return e } export async function teardownPlugin() { await new Promise((r) => setTimeout(r, 20)) }`

    function makeSlowPool(log: string[], setupGate: Promise<void> = Promise.resolve()) {
      return new PluginPool<number>({
        create: async (key) => (await loadCode(slowTeardown, {}, { configId: key, timeoutMs: 1000 })).instance,
        onLoad: async (key, instance) => {
          log.push(`load ${key}`)
          await setupGate
          await instance.call('setupPlugin', [])
        },
        onEvict: async (key, instance, reason) => {
          await instance.call('teardownPlugin', [])
          log.push(`torn down ${key} ${reason}`)
        },
      })
    }

    it('waits for the teardown of an instance already taken out of the pool (a memory unload) before it returns', async () => {
      const log: string[] = []
      const pool = makeSlowPool(log)
      await pool.use(1, async () => undefined)
      const unloaded = pool.evict(1, 'memory')
      await pool.close()
      assert.deepEqual(log, ['load 1', 'torn down 1 memory'])
      await unloaded
    })

    it('waits for an instance still loading, then tears it down before it returns', async () => {
      const log: string[] = []
      let setupMayRun!: () => void
      const pool = makeSlowPool(log, new Promise<void>((resolve) => (setupMayRun = resolve)))
      const using = pool.use(1, async () => 'served')
      await eventually(
        'the load started',
        async () => log.length,
        (n) => n === 1,
        5_000,
      )
      const closed = pool.close()
      setupMayRun()
      await closed
      assert.deepEqual(log, ['load 1', 'torn down 1 close'])
      assert.equal(await using, 'served', 'the call that loaded it was served first')
      assert.equal(pool.size, 0)
    })
  })

  it('recycles an instance after a breach', async () => {
    const log: string[] = []
    const pool = new PluginPool<number>({
      create: async (key) =>
        (await loadCode(`export function processEvent(e) { if (e.event === 'hang') for (;;) {} return e }`, {}, { configId: key, timeoutMs: 200 })).instance,
      onLoad: async (key) => void log.push(`load ${key}`),
    })
    try {
      const error = await rejection(pool.use(9, (i) => i.processEventBatch([{ event: 'hang' }])))
      assert.ok(error instanceof PluginLimitError)
      const [ok] = await pool.use(9, (i) => i.processEventBatch([{ event: 'fine' }]))
      assert.deepEqual(ok, { ok: true, event: { event: 'fine' } })
      assert.deepEqual(log, ['load 9', 'load 9'])
    } finally {
      await pool.close()
    }
  })
})
