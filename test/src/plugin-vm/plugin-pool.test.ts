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
      assert.deepEqual(log, ['load 1', 'load 2', 'evict 2 room', 'load 3', 'evict 1 room', 'load 2'])
    } finally {
      await pool.close()
    }
    assert.equal(pool.size, 0)
  })

  describe("with evictionRank (a role that knows its keys' uses better than recency)", () => {
    function makeRankingPool(maxLiveInstances: number, log: string[], rank: (key: number, lastUsedAt: number) => number) {
      return new PluginPool<number>({
        maxLiveInstances,
        create: async (key) => (await loadCode(code, {}, { configId: key, timeoutMs: 1000 })).instance,
        onLoad: async (key) => void log.push(`load ${key}`),
        onEvict: async (key, _instance, reason) => void log.push(`evict ${key} ${reason}`),
        evictionRank: (key, _instance, lastUsedAt) => rank(key, lastUsedAt),
      })
    }

    it('evicts the idle instance ranked highest, not the least recently used one, and is told when each was last used', async () => {
      const log: string[] = []
      const asked = new Map<number, number>()
      const ranks = new Map([
        [1, 3_000],
        [2, 1_000],
        [3, 2_000],
      ])
      const pool = makeRankingPool(3, log, (key, lastUsedAt) => {
        asked.set(key, lastUsedAt)
        return ranks.get(key) ?? Infinity
      })
      try {
        const before = Date.now()
        for (const key of [2, 3, 1]) await pool.use(key, run)
        await pool.use(4, run) // LRU would take 2; 1 ranks highest
        assert.deepEqual(log, ['load 2', 'load 3', 'load 1', 'evict 1 room', 'load 4'])
        assert.deepEqual([...asked.keys()].sort(), [1, 2, 3])
        for (const at of asked.values()) assert.ok(at >= before && at <= Date.now(), `lastUsedAt ${at}`)
        assert.ok(asked.get(2)! <= asked.get(3)! && asked.get(3)! <= asked.get(1)!, 'each in the order of its use')
      } finally {
        await pool.close()
      }
    })

    it('never makes room with an instance just handed to a caller, though it is the one needed last', async () => {
      const log: string[] = []
      // The instance used last is needed last: what a scheduler's minute looks like.
      const pool = makeRankingPool(2, log, (_key, lastUsedAt) => lastUsedAt)
      try {
        await pool.use(1, run)
        await pool.use(2, run)
        // In one turn: the caller of 1 gets its instance while the load of 3 makes room.
        const [served] = await Promise.all([
          pool.use(1, async (instance) => {
            await new Promise((resolve) => setTimeout(resolve, 20))
            return run(instance)
          }),
          pool.use(3, run),
        ])
        assert.equal(served.n, 2, 'served by the instance it was handed, still live')
        assert.deepEqual(log, ['load 1', 'load 2', 'evict 2 room', 'load 3'])
      } finally {
        await pool.close()
      }
    })

    describe('ranking many instances (stand-in instances, no isolates)', () => {
      // Only what the pool touches of an instance.
      const standIn = () => {
        let disposed = false
        return {
          get disposed() {
            return disposed
          },
          dispose: () => void (disposed = true),
        } as unknown as PluginInstance
      }

      /** Stand-ins at `maxLiveInstances`, each key ranked by its own number unless `ranks` holds another. */
      function standInPool(maxLiveInstances: number) {
        const ranks = new Map<number, number>()
        const counted = { calls: 0 }
        const log: string[] = []
        const pool = new PluginPool<number>({
          maxLiveInstances,
          create: async () => standIn(),
          onEvict: async (key) => void log.push(`evict ${key}`),
          evictionRank: (key) => {
            counted.calls++
            return ranks.get(key) ?? key
          },
        })
        return { pool, ranks, counted, log }
      }

      it('ranks every idle instance once for a run of evictions, not at each one', async () => {
        const { pool, counted, log } = standInPool(40)
        try {
          for (let key = 0; key < 40; key++) await pool.use(key, async () => undefined)
          assert.equal(counted.calls, 0, 'no ranking below the cap')
          for (let key = 40; key < 50; key++) await pool.use(key, async () => undefined)
          // The highest ranked each time: 39, 38, … among the first 40, then the newcomers by their own rank.
          assert.deepEqual(log, ['evict 39', 'evict 40', 'evict 41', 'evict 42', 'evict 43', 'evict 44', 'evict 45', 'evict 46', 'evict 47', 'evict 48'])
          assert.ok(counted.calls < 40 * 3, `${counted.calls} rank calls for 10 evictions among 40 instances`)
        } finally {
          await pool.close()
        }
      })

      it('limitLive lowers the cap by evicting the highest ranked idle instances, and a raised cap evicts nothing', async () => {
        const { pool, log } = standInPool(10)
        try {
          for (let key = 0; key < 10; key++) await pool.use(key, async () => undefined)
          assert.equal(await pool.limitLive(7), 3)
          assert.deepEqual([pool.cap, pool.size, log], [7, 7, ['evict 9', 'evict 8', 'evict 7']])
          await pool.use(10, async () => undefined)
          assert.deepEqual([log.at(-1), pool.size], ['evict 6', 7], 'the next load makes room at the lower cap')
          assert.equal(await pool.limitLive(50), 0)
          assert.equal(pool.cap, 10, 'never above maxLiveInstances')
          assert.equal(await pool.limitLive(0), 6)
          assert.deepEqual([pool.cap, pool.size], [1, 1], 'never below one')
        } finally {
          await pool.close()
        }
      })

      it('ranks again an instance used since the last scan, so a use that raised its rank makes it the next evicted', async () => {
        const { pool, ranks, log } = standInPool(8)
        try {
          for (let key = 0; key < 8; key++) await pool.use(key, async () => undefined)
          await pool.use(8, async () => undefined) // a scan: evicts 7, keeps 6, 5, … for the next
          ranks.set(0, 100)
          await pool.use(0, async () => undefined) // its rank is now the highest
          await pool.use(9, async () => undefined) // neither 6, the best kept, nor 8, loaded since (rank 8)
          assert.deepEqual(log, ['evict 7', 'evict 0'])
        } finally {
          await pool.close()
        }
      })
    })

    it('ranked by next use, reloads only the part of a repeating cycle beyond the cap, where LRU reloads on every use', async () => {
      const KEYS = 6
      const CAP = 4
      const ROUNDS = 4
      // Keys used in the order 0..5, again and again: a scheduler's minute over more configs than it keeps live.
      const cycle = async (pool: PluginPool<number>, step: { at: number }) => {
        for (step.at = 0; step.at < KEYS * ROUNDS; step.at++) await pool.use(step.at % KEYS, run)
      }
      const loads = (log: string[]) => log.filter((line) => line.startsWith('load')).length

      const lruLog: string[] = []
      const lru = makePool(CAP, lruLog)
      try {
        await cycle(lru, { at: 0 })
      } finally {
        await lru.close()
      }
      assert.equal(loads(lruLog), KEYS * ROUNDS, 'LRU evicts the key needed next, every time')

      const foreseeingLog: string[] = []
      const step = { at: 0 }
      // The step at which a key is next used, after the current one.
      const nextStep = (key: number) => step.at + ((((key - step.at) % KEYS) + KEYS) % KEYS || KEYS)
      const foreseeing = makeRankingPool(CAP, foreseeingLog, nextStep)
      try {
        await cycle(foreseeing, step)
      } finally {
        await foreseeing.close()
      }
      // Belady's optimum for a cycle: the first round loads every key, each later one at most KEYS - CAP + 1.
      assert.ok(loads(foreseeingLog) <= KEYS + (ROUNDS - 1) * (KEYS - CAP + 1), `${loads(foreseeingLog)} loads`)
      assert.ok(
        foreseeingLog.every((line) => !line.startsWith('evict') || / (room|close)$/.test(line)),
        foreseeingLog.join(', '),
      )
    })
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

  it('makes room for each of a burst of loads, not once for all of them: the pool is at its cap when they have loaded', async () => {
    const standIn = () => ({ disposed: false, dispose: () => undefined }) as unknown as PluginInstance
    const evicted: number[] = []
    let createGate = Promise.resolve()
    let open = () => undefined as void
    const pool = new PluginPool<number>({
      maxLiveInstances: 3,
      // As the plugin manager does: room just before the isolate is made, which takes a while.
      create: async (_key, room) => {
        await room()
        await createGate
        return standIn()
      },
      onEvict: async (key) => void evicted.push(key),
    })
    try {
      for (const key of [1, 2, 3]) await pool.use(key, async () => undefined)
      createGate = new Promise<void>((resolve) => (open = resolve))
      // Three loads at once, each making its isolate before any of them is in the pool.
      const burst = Promise.all([4, 5, 6].map((key) => pool.use(key, async () => undefined)))
      await eventually(
        'the burst has made room',
        async () => evicted.length,
        (n) => n === 3,
        5_000,
      )
      open()
      await burst
      assert.equal(pool.size, 3, 'three live instances, the cap')
      assert.deepEqual(evicted.sort(), [1, 2, 3])
      assert.deepEqual(
        [4, 5, 6].map((key) => pool.has(key)),
        [true, true, true],
      )
    } finally {
      open()
      await pool.close()
    }
  })

  it('counts a load as live once it is about to make its isolate, not while it waits before that: loads behind it keep the cap of live instances', async () => {
    const standIn = () => ({ disposed: false, dispose: () => undefined }) as unknown as PluginInstance
    const evicted: number[] = []
    let release = () => undefined as void
    const waiting = new Promise<void>((resolve) => (release = resolve))
    const pool = new PluginPool<number>({
      maxLiveInstances: 4,
      // Keys from 100 wait before they make room, as a load waits for its team's memory.
      create: async (key, room) => {
        if (key >= 100) await waiting
        await room()
        return standIn()
      },
      onEvict: async (key) => void evicted.push(key),
    })
    try {
      for (const key of [1, 2, 3, 4]) await pool.use(key, async () => undefined)
      const stuck = [100, 101, 102].map((key) => pool.use(key, async () => undefined))
      for (let turn = 0; turn < 20; turn++) await new Promise((r) => setImmediate(r))
      assert.deepEqual(evicted, [], 'loads waiting to make their isolate make no room')
      for (const key of [5, 6]) await pool.use(key, async () => undefined)
      // Counted while they waited, they had the pool evict all but one (5 and 6 each evicting the other).
      assert.deepEqual(evicted, [1, 2], 'the loads still waiting hold no isolate: the others keep the cap')
      assert.equal(pool.size, 4)
      release()
      await Promise.all(stuck)
      assert.equal(pool.size, 4, 'once created they count, and make room for themselves')
      assert.deepEqual(evicted, [1, 2, 3, 4, 5])
    } finally {
      release()
      await pool.close()
    }
  })

  describe("making room while the evicted instance's teardownPlugin runs (often another team's)", () => {
    it('loads the next instance without waiting for that teardown, which still runs to its end, and close waits for it', async () => {
      const hanging = `export function processEvent(e) { return e } export async function teardownPlugin() { await new Promise(() => {}) }`
      const log: string[] = []
      const pool = new PluginPool<number>({
        maxLiveInstances: 1,
        create: async (key) => (await loadCode(key === 1 ? hanging : code, {}, { configId: key, timeoutMs: 1500 })).instance,
        onEvict: async (key, instance) => {
          if (!instance.hasMethod('teardownPlugin')) return
          log.push(`teardown ${key} starts`)
          await instance.call('teardownPlugin', []).catch((error: Error) => log.push(`teardown ${key} ends: ${error.constructor.name}`))
        },
      })
      try {
        await pool.use(1, async () => undefined)
        const served = await pool.use(2, run)
        assert.equal(served.n, 1)
        // The hanging teardown ends at its deadline (1.5 s), long after the load it made room for.
        assert.deepEqual(log, ['teardown 1 starts'])
      } finally {
        await pool.close()
      }
      assert.deepEqual(log, ['teardown 1 starts', 'teardown 1 ends: PluginLimitError'])
    })

    it('leaves behind it at most a tenth of its cap (at least one) of evicted instances still tearing down: a load past that waits for one of them to end', async () => {
      const standIn = () => ({ disposed: false, dispose: () => undefined }) as unknown as PluginInstance
      const teardowns = new Map<number, () => void>()
      const pool = new PluginPool<number>({
        maxLiveInstances: 20,
        create: async () => standIn(),
        onEvict: (key) => new Promise<void>((resolve) => teardowns.set(key, resolve)),
      })
      for (let key = 1; key <= 22; key++) await pool.use(key, async () => undefined)
      assert.deepEqual([...teardowns.keys()], [1, 2], 'the loads of 21 and 22 did not wait for the teardowns of 1 and 2')
      let loaded23 = false
      const next = pool.use(23, async () => void (loaded23 = true))
      for (let turn = 0; turn < 20; turn++) await new Promise((r) => setImmediate(r))
      assert.equal(loaded23, false, 'with two teardowns running and a cap of 20, the load of 23 waits for one of them')
      teardowns.get(2)!()
      await next
      assert.deepEqual([...teardowns.keys()], [1, 2, 3])
      for (const key of [1, 3]) teardowns.get(key)!()
      const closed = pool.close()
      await eventually(
        'every teardown started',
        async () => teardowns.size,
        (n) => n === 23,
        5_000,
      )
      for (const end of teardowns.values()) end()
      await closed
    })
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

  it('disposes an instance found dead (its isolate gone with no call of ours failing) before loading the next, so its cleanup gives back what it held', async () => {
    const made: { instance: PluginInstance; dead: boolean; disposals: number }[] = []
    const pool = new PluginPool<number>({
      create: async (key) => {
        const { instance } = await loadCode(code, {}, { configId: key })
        const state = { instance, dead: false, disposals: 0 }
        made.push(state)
        // As when isolated-vm disposes an isolate at its memory limit outside any call: only `disposed` says so.
        const seen = Object.create(instance) as PluginInstance
        Object.defineProperty(seen, 'disposed', { get: () => state.dead || instance.disposed })
        seen.dispose = () => {
          state.disposals++
          instance.dispose()
        }
        return seen
      },
    })
    try {
      await pool.use(1, run)
      made[0].dead = true
      await pool.use(1, run)
      assert.equal(made.length, 2, 'a new instance served the next use')
      assert.equal(made[0].disposals, 1, 'the dead one was disposed, once')
      assert.equal(made[0].instance.disposed, true)
    } finally {
      await pool.close()
    }
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
