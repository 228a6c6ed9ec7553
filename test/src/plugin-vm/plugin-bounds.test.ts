import assert from 'assert/strict'
import { PluginLimitError } from '@plugin-server/plugin-vm'
import { eventually } from '../harness/fleet'
import { disposal, loadCode, rejection } from './helpers'

/** CPU this process (all its threads) uses over `ms`, in ms. */
async function processCpuMs(ms: number): Promise<number> {
  const before = process.cpuUsage()
  await new Promise((r) => setTimeout(r, ms))
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1000
}

describe('plugin-vm: bounds on what one plugin may make the host do', function () {
  this.timeout(60_000)

  describe('WebAssembly', () => {
    it('is gone from the isolate, whichever way the plugin looks for it', async () => {
      const { instance } = await loadCode(`export function runEveryMinute() {
        const attempt = (f) => { try { const v = f(); return v === undefined ? 'undefined' : 'FOUND ' + typeof v } catch (e) { return e.name } }
        return {
          typeof: typeof WebAssembly,
          property: attempt(() => globalThis.WebAssembly),
          ownKeys: Reflect.ownKeys(globalThis).filter((k) => String(k).includes('WebAssembly')).length,
          names: Object.getOwnPropertyNames(globalThis).filter((k) => /wasm|webassembly/i.test(k)).length,
          indirectEval: attempt(() => (0, eval)('WebAssembly')),
          newFunction: attempt(() => Function('return WebAssembly')()),
          descriptor: attempt(() => Object.getOwnPropertyDescriptor(globalThis, 'WebAssembly')),
          fromConstructor: attempt(() => this.constructor.constructor('return typeof WebAssembly === "undefined" ? undefined : WebAssembly')()),
        }
      }`)
      try {
        assert.deepEqual(await instance.call('runEveryMinute', []), {
          typeof: 'undefined',
          property: 'undefined',
          ownKeys: 0,
          names: 0,
          indirectEval: 'ReferenceError',
          newFunction: 'ReferenceError',
          descriptor: 'undefined',
          fromConstructor: 'undefined',
        })
      } finally {
        instance.dispose()
      }
    })
  })

  describe('background CPU', () => {
    it('stops a setInterval busy loop started in setupPlugin with a cpu limit error, and the host goes idle', async () => {
      const { host, instance } = await loadCode(
        `export function setupPlugin() { setInterval(() => { const end = Date.now() + 8; while (Date.now() < end) {} }, 1) }`,
        {},
        { backgroundCpuMsPerMinute: 300 },
      )
      await instance.call('setupPlugin', [])
      await disposal(instance)
      const message = 'plugin inline (config 1) exceeded its background CPU limit (300 ms per minute)'
      assert.ok(
        host.logs.some((l) => l.level === 'error' && l.message === `${message}; the isolate was disposed`),
        host.logs.map((l) => l.message).join('\n'),
      )
      const error = await rejection(instance.call('setupPlugin', []))
      assert.ok(error instanceof PluginLimitError)
      assert.equal(error.limit, 'cpu')
      assert.equal(error.message, message)
      // No timer is left to fire: the process is idle again.
      await eventually(
        'process CPU after the breach',
        () => processCpuMs(500),
        (ms) => ms < 150,
        5_000,
      )
    })

    it('catches a background continuation that never ends (isolated-vm gives it no time limit)', async () => {
      const { instance } = await loadCode(
        `export function setupPlugin(meta) { setTimeout(async () => { await meta.cache.get('x', null); for (;;) {} }, 1) }`,
        {},
        { backgroundCpuMsPerMinute: 300 },
      )
      await instance.call('setupPlugin', [])
      await disposal(instance)
      assert.equal(
        (await rejection(instance.call('setupPlugin', []))).message,
        'plugin inline (config 1) exceeded its background CPU limit (300 ms per minute)',
      )
    })

    it('reports every breach to onBreach, once per instance', async () => {
      const breaches: PluginLimitError[] = []
      const { instance } = await loadCode(
        `export function setupPlugin() { setInterval(() => { const end = Date.now() + 5; while (Date.now() < end) {} }, 10) }`,
        {},
        {
          backgroundCpuMsPerMinute: 100,
          onBreach: (error) => breaches.push(error),
        },
      )
      await instance.call('setupPlugin', [])
      await eventually(
        'breach reported',
        async () => breaches.length,
        (n) => n > 0,
        10_000,
      )
      assert.deepEqual(
        breaches.map((b) => [b.limit, b.message]),
        [['cpu', 'plugin inline (config 1) exceeded its background CPU limit (100 ms per minute)']],
      )
      const timeBreaches: PluginLimitError[] = []
      const looping = await loadCode(`export function processEvent() { for (;;) {} }`, {}, { timeoutMs: 200, onBreach: (error) => timeBreaches.push(error) })
      await rejection(looping.instance.processEventBatch([{ event: 'e' }]))
      await rejection(looping.instance.processEventBatch([{ event: 'e' }]))
      assert.deepEqual(
        timeBreaches.map((b) => b.limit),
        ['time'],
      )
    })

    it('does not charge a plugin for CPU its calls use', async () => {
      const { instance } = await loadCode(
        `export function processEvent(e) { const end = Date.now() + 400; while (Date.now() < end) {} return e }`,
        {},
        { backgroundCpuMsPerMinute: 100 },
      )
      try {
        for (let i = 0; i < 2; i++) assert.deepEqual(await instance.processEventBatch([{ event: 'e' }]), [{ ok: true, event: { event: 'e' } }])
        assert.equal(instance.disposed, false)
      } finally {
        instance.dispose()
      }
    })

    it('fires a repeating interval at most every 10 ms, however short the plugin asks for', async () => {
      const { instance } = await loadCode(`let fired = 0
        export function setupPlugin() { setInterval(() => fired++, 0) }
        export function runEveryMinute() { return fired }`)
      try {
        await instance.call('setupPlugin', [])
        await new Promise((r) => setTimeout(r, 300))
        const fired = (await instance.call('runEveryMinute', [])) as number
        assert.ok(fired > 0 && fired <= 31, `fired ${fired} times in 300 ms`)
      } finally {
        instance.dispose()
      }
    })

    it('waits out a timer longer than 2^31 − 1 ms instead of firing it after 1 ms (Node clamps those), and a 1 ms one still fires', async () => {
      // The 300 ms timer is the clock: set after the long ones, it fires after any of them Node would have clamped to 1 ms.
      const { instance } = await loadCode(`const fired = { month: 0, interval: 0, infinite: 0, short: 0, later: 0 }
        export function setupPlugin() {
          setTimeout(() => fired.month++, 30 * 24 * 3600 * 1000)
          setInterval(() => fired.interval++, 2 ** 31)
          setTimeout(() => fired.infinite++, Infinity)
          setTimeout(() => fired.short++, 1)
          setTimeout(() => fired.later++, 300)
        }
        export function runEveryMinute() { return fired }`)
      const warnings: string[] = []
      const onWarning = (w: Error) => warnings.push(w.name)
      process.on('warning', onWarning)
      try {
        await instance.call('setupPlugin', [])
        const fired = await eventually(
          'the 1 ms and 300 ms timers fired',
          () => instance.call('runEveryMinute', []) as Promise<Record<string, number>>,
          (f) => f.short === 1 && f.later === 1,
        )
        assert.deepEqual(fired, { month: 0, interval: 0, infinite: 0, short: 1, later: 1 })
        assert.deepEqual(
          warnings.filter((w) => w === 'TimeoutOverflowWarning'),
          [],
        )
      } finally {
        process.off('warning', onWarning)
        instance.dispose()
      }
    })
  })

  describe('posthog.capture', () => {
    const capturing = `
      export function processEvent(event) { for (let i = 0; i < event.properties.n; i++) posthog.capture('child', { i }); return event }
      export function runEveryMinute() { for (let i = 0; i < 2500; i++) posthog.capture('tick', { i }) }
      export function setupPlugin() { setTimeout(() => { for (let i = 0; i < 1500; i++) posthog.capture('timer', { i }) }, 1) }`

    it('lets a processEvent batch of n events capture n × PLUGIN_CAPTURES_PER_EVENT, drops the rest and says so once', async () => {
      const { host, instance } = await loadCode(capturing, {}, { capturesPerEvent: 10 })
      try {
        const results = await instance.processEventBatch([1, 2, 3].map(() => ({ event: 'e', properties: { n: 20_000 } })))
        assert.ok(results.every((r) => r.ok))
        assert.equal(host.captures.length, 30)
        const reports = host.logs.filter((l) => l.message.includes('posthog.capture called more than'))
        assert.deepEqual(
          reports.map((l) => [l.level, l.message]),
          [['error', 'posthog.capture called more than 30 times for 3 events in one call; the rest were dropped (PLUGIN_CAPTURES_PER_EVENT)']],
        )
        // The allowance is per call: the next batch captures again.
        await instance.call('processEvent', [{ event: 'e', properties: { n: 5 } }])
        assert.equal(host.captures.length, 35)
      } finally {
        instance.dispose()
      }
    })

    it('lets each event a plugin captured itself capture one event, not PLUGIN_CAPTURES_PER_EVENT (capturedEvents)', async () => {
      const { host, instance } = await loadCode(capturing, {}, { capturesPerEvent: 10 })
      try {
        const batch = JSON.stringify([1, 2, 3].map(() => ({ event: 'e', properties: { n: 20_000 } })))
        await instance.processEventBatchText(batch, 3, { capturedEvents: 2 })
        assert.equal(host.captures.length, 10 + 2, 'one client event: 10; two captured ones: 1 each')
        assert.ok(
          host.logs.some(
            (l) => l.message === 'posthog.capture called more than 12 times for 3 events in one call; the rest were dropped (PLUGIN_CAPTURES_PER_EVENT)',
          ),
        )
      } finally {
        instance.dispose()
      }
    })

    it("charges a flood to the call that made it, not to calls that overlap it (their events' own allowance stays theirs)", async () => {
      const { host, instance } = await loadCode(
        `export function processEvent(event) {
          if (event.event === 'flood') for (let i = 0; i < 20000; i++) posthog.capture('flood-child', { i })
          else posthog.capture('own-child')
          return event
        }`,
        {},
        { capturesPerEvent: 10 },
      )
      try {
        // The second batch is handed to the isolate while the host still works through the flood's captures.
        const flood = instance.processEventBatch([{ event: 'flood' }])
        const others = instance.processEventBatch(Array.from({ length: 10 }, () => ({ event: 'other' })))
        await Promise.all([flood, others])
        assert.equal(host.captures.filter((c) => c.event === 'flood-child').length, 10)
        assert.equal(host.captures.filter((c) => c.event === 'own-child').length, 10)
      } finally {
        instance.dispose()
      }
    })

    it('caps other calls at PLUGIN_CAPTURES_PER_CALL, and background work at that many per minute', async () => {
      const { host, instance } = await loadCode(capturing, {}, { capturesPerCall: 1000 })
      try {
        await instance.call('runEveryMinute', [])
        assert.equal(host.captures.filter((c) => c.event === 'tick').length, 1000)
        await instance.call('setupPlugin', [])
        await eventually(
          'timer captures',
          async () => host.captures.filter((c) => c.event === 'timer').length,
          (n) => n === 1000,
          5_000,
        )
        const reports = host.logs.filter((l) => l.message.startsWith('posthog.capture called more than')).map((l) => l.message)
        assert.deepEqual(reports, [
          'posthog.capture called more than 1000 times in one call; the rest were dropped (PLUGIN_CAPTURES_PER_CALL)',
          'posthog.capture called more than 1000 times in one minute outside calls; the rest were dropped (PLUGIN_CAPTURES_PER_CALL)',
        ])
      } finally {
        instance.dispose()
      }
    })
    it("starts a new minute of background captures when the host's wall clock steps back, instead of keeping the old one open until the clock catches up", async () => {
      const realNow = Date.now
      let offset = 0
      // Before the load: the budgets take the host's clock when they are made.
      Date.now = () => realNow() + offset
      const { host, instance } = await loadCode(
        `export function runEveryMinute(n, label) { setTimeout(() => { for (let i = 0; i < n; i++) posthog.capture(label, { i }) }, 1) }`,
        {},
        { capturesPerCall: 10 },
      )
      const background = async (label: string, expected: number) => {
        await instance.call('runEveryMinute', [5, label])
        // The timer has run once its captures, or the report of their drop, are in.
        await eventually(
          `timer ${label}`,
          async () => host.captures.filter((c) => c.event === label).length + host.logs.filter((l) => l.message.includes('outside calls')).length,
          (n) => n >= expected,
          5_000,
        )
      }
      try {
        await background('before', 5)
        offset = -3_600_000
        await background('stepped back', 5)
        offset += 61_000
        await background('a minute later', 5)
        assert.deepEqual(
          ['before', 'stepped back', 'a minute later'].map((label) => host.captures.filter((c) => c.event === label).length),
          [5, 5, 5],
        )
      } finally {
        Date.now = realNow
        instance.dispose()
      }
    })
  })

  describe('cache and storage', () => {
    const writer = `export async function runEveryMinute(what, { cache, storage }) {
      const big = 'x'.repeat(what.size)
      const attempt = async (f) => { try { await f(); return 'ok' } catch (e) { return e.name + ': ' + e.message } }
      switch (what.op) {
        case 'cache key': return attempt(() => cache.set(big, 1))
        case 'cache get key': return attempt(() => cache.get(big, null))
        case 'storage key': return attempt(() => storage.get(big, null))
        case 'cache value': return attempt(() => cache.set('k', big))
        case 'cache lpush': return attempt(() => cache.lpush('list', [big]))
        case 'storage value': return attempt(() => storage.set('k', { big }))
        case 'cache byte array': return attempt(() => cache.set('k', new Uint8Array(what.size).fill(255)))
        // What the host makes text of although it is no object's own property: a message, a source, digits.
        case 'cache Error key': return attempt(() => cache.set(new Error(big), 1))
        case 'cache RegExp key': return attempt(() => cache.incr(new RegExp(big)))
        case 'cache BigInt key': return attempt(() => cache.incr(1n << BigInt(what.size * 8)))
        case 'cache raw Error value': return attempt(() => cache.set('k', new Error(big), 0, { jsonSerialize: false }))
        case 'cache one value many times': {
          const value = 'y'.repeat(1000 * 1024)
          const results = await Promise.all(Array.from({ length: what.size }, (_, i) => attempt(() => cache.set('k' + i, value))))
          return [...new Set(results)].join(' | ')
        }
      }
    }`
    const cases: [string, number, string][] = [
      ['cache key', 2000, 'RangeError: cache.set: the key is larger than 1024 bytes (PLUGIN_CACHE_MAX_KEY_BYTES)'],
      ['cache get key', 64 * 1024 * 1024, 'RangeError: cache.get: the key is larger than 1024 bytes (PLUGIN_CACHE_MAX_KEY_BYTES)'],
      ['storage key', 2000, 'RangeError: storage.get: the key is larger than 1024 bytes (PLUGIN_CACHE_MAX_KEY_BYTES)'],
      ['cache value', 40 * 1024 * 1024, 'RangeError: cache.set: the value is larger than 1048576 bytes (PLUGIN_CACHE_MAX_VALUE_BYTES)'],
      ['cache lpush', 2 * 1024 * 1024, 'RangeError: cache.lpush: the value is larger than 1048576 bytes (PLUGIN_CACHE_MAX_VALUE_BYTES)'],
      ['storage value', 40 * 1024 * 1024, 'RangeError: storage.set: the value is larger than 1048576 bytes (PLUGIN_STORAGE_MAX_VALUE_BYTES)'],
      // 100 KB of bytes is ~1.2 MB of JSON, as the host would encode it.
      ['cache byte array', 100 * 1024, 'RangeError: cache.set: the value is larger than 1048576 bytes (PLUGIN_CACHE_MAX_VALUE_BYTES)'],
      ['cache Error key', 2000, 'RangeError: cache.set: the key is larger than 1024 bytes (PLUGIN_CACHE_MAX_KEY_BYTES)'],
      ['cache RegExp key', 2000, 'RangeError: cache.incr: the key is larger than 1024 bytes (PLUGIN_CACHE_MAX_KEY_BYTES)'],
      ['cache BigInt key', 512 * 1024, 'RangeError: cache.incr: the key is larger than 1024 bytes (PLUGIN_CACHE_MAX_KEY_BYTES)'],
      ['cache raw Error value', 2 * 1024 * 1024, 'RangeError: cache.set: the value is larger than 1048576 bytes (PLUGIN_CACHE_MAX_VALUE_BYTES)'],
    ]
    for (const [op, size, expected] of cases) {
      it(`refuses a ${op} of ${size} bytes: the plugin's promise rejects and its logs say why`, async () => {
        const { host, instance } = await loadCode(writer, {}, { memoryLimitMb: 512 })
        try {
          assert.equal(await instance.call('runEveryMinute', [{ op, size }]), expected)
          assert.ok(
            host.logs.some((l) => l.level === 'error' && `RangeError: ${l.message}` === expected),
            host.logs.map((l) => l.message).join('\n'),
          )
          assert.deepEqual(host.cache.writes, [])
          assert.equal(host.storageData.size, 0)
        } finally {
          instance.dispose()
        }
      })
    }

    it('refuses a runIn past the last date JavaScript has, naming it, instead of queueing a job due at NaN; a runIn within it is queued', async () => {
      const { host, instance } = await loadCode(
        `export const jobs = { later() {} }
        export async function runEveryMinute(amount, unit, { jobs }) {
          try { await jobs.later({}).runIn(amount, unit); return 'ok' } catch (e) { return e.name + ': ' + e.message }
        }`,
      )
      try {
        assert.equal(
          await instance.call('runEveryMinute', [1_000_000, 'years']),
          'RangeError: runIn(1000000, "years"): that is after +275760-09-13, the last date JavaScript has',
        )
        assert.deepEqual(host.jobs, [])
        assert.equal(await instance.call('runEveryMinute', [100_000, 'years']), 'ok')
        assert.equal(host.jobs.length, 1)
      } finally {
        instance.dispose()
      }
    })

    it('refuses a job payload past PLUGIN_JOB_MAX_PAYLOAD_BYTES before it is queued, and queues one within it', async () => {
      const { host, instance } = await loadCode(
        `export const jobs = { later() {} }
        export async function runEveryMinute(size, { jobs }) {
          try { await jobs.later({ big: 'x'.repeat(size) }).runNow(); return 'ok' } catch (e) { return e.name + ': ' + e.message }
        }`,
        {},
        { jobMaxPayloadBytes: 64 * 1024 },
      )
      try {
        assert.equal(
          await instance.call('runEveryMinute', [40 * 1024 * 1024]),
          'RangeError: jobs.later: the payload is larger than 65536 bytes (PLUGIN_JOB_MAX_PAYLOAD_BYTES)',
        )
        assert.deepEqual(host.jobs, [])
        assert.equal(await instance.call('runEveryMinute', [60 * 1024]), 'ok')
        assert.equal(host.jobs.length, 1)
      } finally {
        instance.dispose()
      }
    })

    it('refuses the writes of one turn past PLUGIN_HOST_WORK_MAX_BYTES together: one 1000 KB value set under 40 keys at once', async () => {
      const { host, instance } = await loadCode(writer, {}, { hostWorkMaxBytes: 16 * 1024 * 1024 })
      try {
        assert.equal(
          await instance.call('runEveryMinute', [{ op: 'cache one value many times', size: 40 }]),
          'ok | RangeError: cache.set: the values written at once are larger than 16777216 bytes together (PLUGIN_HOST_WORK_MAX_BYTES)',
        )
        assert.equal(host.cache.writes.length, 16, 'the first 16 values, 16 000 KB, went through')
      } finally {
        instance.dispose()
      }
    })

    it("runs a plugin's list reads (lrange, lpop) one at a time, so replies not yet awaited never add up in the host", async () => {
      const reader = `export async function runEveryMinute({ cache }) {
        await Promise.all([...Array.from({ length: 8 }, () => cache.lrange('l', 0, -1)), ...Array.from({ length: 8 }, () => cache.lpop('l', 1))])
      }`
      const { host, instance } = await loadCode(reader)
      let reading = 0
      let most = 0
      for (const op of ['lrange', 'lpop'] as const) {
        const read = host.cache[op].bind(host.cache) as (key: string, a: number, b?: number) => Promise<string[]>
        host.cache[op] = async (key: string, a: number, b?: number) => {
          most = Math.max(most, ++reading)
          try {
            await new Promise<void>((resolve) => setImmediate(resolve))
            return await read(key, a, b)
          } finally {
            reading--
          }
        }
      }
      try {
        await instance.call('runEveryMinute', [])
        assert.equal(most, 1)
      } finally {
        instance.dispose()
      }
    })

    it('accepts keys and values up to the limits', async () => {
      const { host, instance } = await loadCode(writer.replace("'x'.repeat(what.size)", "'é'.repeat(what.size / 2)"))
      try {
        assert.equal(await instance.call('runEveryMinute', [{ op: 'cache key', size: 1024 }]), 'ok')
        assert.equal(await instance.call('runEveryMinute', [{ op: 'cache value', size: 1000 * 1024 }]), 'ok')
        assert.equal(host.logs.length, 0)
      } finally {
        instance.dispose()
      }
    })
  })
})
