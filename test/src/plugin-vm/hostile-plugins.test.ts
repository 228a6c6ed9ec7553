import assert from 'assert/strict'
import { PluginError, PluginInstance, PluginLimitError } from '@plugin-server/plugin-vm'
import { eventually } from '../harness/fleet'
import { disposal, loadCode, loadFixture, rejection } from './helpers'

/** Each hostile mode must be contained: clear error, process alive, a well-behaved plugin still correct. */
describe('plugin-vm: hostile plugins', () => {
  let good: PluginInstance

  before(async () => {
    good = (await loadCode(`export function processEvent(e) { e.properties = { ...e.properties, good: ({}).polluted ?? 'clean' }; return e }`)).instance
  })
  after(() => good.dispose())

  async function assertGoodStillWorks(): Promise<void> {
    const [result] = await good.processEventBatch([{ event: 'ok', properties: {} }])
    assert.deepEqual(result, { ok: true, event: { event: 'ok', properties: { good: 'clean' } } })
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
  }

  // The deadline is what the time cases test and pass; for the rest it must not be what fails
  // (20 000 captures take over 1 s on a busy machine), so it is the production default.
  async function hostile(mode: string, timeoutMs = 30_000, memoryLimitMb = 32) {
    return loadFixture('hostile', { config: { mode } }, { timeoutMs, memoryLimitMb })
  }

  // The memory bomb gets a deadline it cannot reach first: on a busy machine, filling 32 MB near the
  // limit (the GC thrashes) can take longer than 1 s, and then the time limit would win the race.
  const limitCases: [string, 'time' | 'memory', number][] = [
    ['sync-loop', 'time', 1000],
    ['async-loop', 'time', 1000],
    ['never-resolves', 'time', 1000],
    ['memory-bomb', 'memory', 30_000],
  ]
  for (const [mode, limit, timeoutMs] of limitCases) {
    it(`contains ${mode} with a ${limit} limit error and disposes the isolate`, async () => {
      const { host, instance } = await hostile(mode, timeoutMs)
      const error = await rejection(instance.processEventBatch([{ event: 'e' }]))
      assert.ok(error instanceof PluginLimitError, `${error.name}: ${error.message}`)
      assert.equal(error.limit, limit)
      assert.match(error.message, new RegExp(`^plugin Hostile Fixture \\(config 7\\) exceeded its ${limit} limit`))
      assert.equal(instance.disposed, true)
      assert.ok(host.logs.some((l) => l.level === 'error' && l.message.includes(`exceeded its ${limit} limit`)))
      // Later calls fail fast with the same error instead of hanging.
      assert.equal(await rejection(instance.call('processEvent', [{ event: 'e' }])), error)
      await assertGoodStillWorks()
    })
  }

  it('contains a buffer bomb (limit error or a per-event allocation error)', async () => {
    const { instance } = await hostile('buffer-bomb')
    try {
      const outcome = await instance.processEventBatch([{ event: 'e' }]).then(
        (results) => (results[0].ok ? 'ok' : results[0].error.name + ': ' + results[0].error.message),
        (error: Error) => (error instanceof PluginLimitError ? 'limit: ' + error.limit : 'other: ' + error.message),
      )
      assert.match(outcome, /^(limit: memory|RangeError: .*allocation failed.*)$/i)
    } finally {
      instance.dispose()
    }
    await assertGoodStillWorks()
  })

  it('blocks constructor escapes and host modules', async () => {
    const { instance } = await hostile('escape')
    try {
      const [result] = await instance.processEventBatch([{ event: 'e', properties: {} }])
      assert.ok(result.ok && result.event)
      const found = result.event.properties?.found as Record<string, string>
      for (const [name, outcome] of Object.entries(found)) {
        assert.ok(!outcome.startsWith('LEAKED'), `${name}: ${outcome}`)
      }
      assert.match(found.requireFs, /module "fs" is not available to plugins/)
      assert.match(found.requireChildProcess, /module "child_process" is not available/)
      assert.match(found.ctor, /process is not defined|undefined/)
    } finally {
      instance.dispose()
    }
    await assertGoodStillWorks()
  })

  it('rejects static imports of fs and child_process at load', async () => {
    for (const name of ['fs', 'child_process', 'node:fs']) {
      const error = await rejection(loadCode(`import * as m from '${name}'\nexport function processEvent(e) { return m ? e : e }`))
      assert.match(error.message, new RegExp(`module "${name}" is not available to plugins`))
    }
  })

  it('keeps Object.prototype writes and replaced builtins inside the isolate', async () => {
    const { instance } = await hostile('pollute')
    try {
      const [first] = await instance.processEventBatch([{ event: 'e', properties: {} }])
      assert.deepEqual(first, { ok: true, event: { event: 'e', properties: { pollutedHere: 'yes' } } })
      // The runtime captured JSON before plugin code ran, so the protocol survives.
      const [second] = await instance.processEventBatch([{ event: 'f' }])
      assert.ok(second.ok)
    } finally {
      instance.dispose()
    }
    await assertGoodStillWorks()
  })

  it("answers an async plugin's batch although it put descriptor fields (get, set, value) on Object.prototype", async () => {
    const { instance } = await loadCode(`
      for (const name of ['get', 'set', 'value', 'writable']) Object.prototype[name] = function () { return 'hijacked' }
      export async function processEvent(event, { geoip }) {
        await null
        event.properties.located = await geoip.locate('10.0.0.1')
        return event
      }`)
    try {
      const results = await instance.processEventBatch([
        { event: 'a', properties: {} },
        { event: 'b', properties: {} },
      ])
      assert.deepEqual(results, [
        { ok: true, event: { event: 'a', properties: { located: null } } },
        { ok: true, event: { event: 'b', properties: { located: null } } },
      ])
    } finally {
      instance.dispose()
    }
  })

  it("runs the host's side of its calls to the end although it put isolated-vm's options (timeout) on Object.prototype", async () => {
    // isolated-vm read a call's options through the prototype chain: with timeout 1 it stopped the host's own function
    // after 1 ms (TerminateExecution), past its finally blocks, and the plugin got 'Script execution timed out.'
    const { host, instance } = await loadCode(`
      export async function processEvent(event, { cache }) {
        Object.prototype.timeout = 1
        try {
          await Promise.all(Array.from({ length: 20000 }, (_, i) => cache.set('k' + i, 'v'.repeat(100))))
          event.properties.read = await cache.get('k19999', null)
        } finally {
          delete Object.prototype.timeout
        }
        return event
      }`)
    try {
      const [result] = await instance.processEventBatch([{ event: 'e', properties: {} }])
      assert.deepEqual(result, { ok: true, event: { event: 'e', properties: { read: 'v'.repeat(100) } } })
      assert.equal(host.cache.writes.length, 20000)
    } finally {
      instance.dispose()
    }
    await assertGoodStillWorks()
  })

  it("keeps the host's event loop turning while two plugins log 16 KB lines in a loop for a second", async () => {
    // Nothing waited for a log line: the isolate queued copies faster than the host handled them, and isolated-vm
    // ran the queue without returning to the event loop (1.9 GB queued and 3 s without a turn for a 2 s loop). Two
    // isolates: each one's lines keep the queue the host drains from emptying while it handles the other's.
    const code = `
      export function runEveryMinute() {
        const line = 'y'.repeat(16000)
        let lines = 0
        for (const start = Date.now(); Date.now() - start < 1000; lines++) console.log(line)
        return lines
      }`
    const loaded = [await loadCode(code), await loadCode(code)]
    let handled = 0
    for (const { host } of loaded) host.log = () => void handled++
    let turns = 0
    const turning = setInterval(() => turns++, 10)
    try {
      const lines = (await Promise.all(loaded.map(({ instance }) => instance.call('runEveryMinute', [])))) as number[]
      assert.ok(lines[0] > 1000 && lines[1] > 1000, `${lines.join(' and ')} lines`)
      assert.ok(turns >= 5, `the event loop turned ${turns} times in the second they logged`)
      await eventually(
        'every line handled',
        async () => handled,
        (n) => n === lines[0] + lines[1],
      )
    } finally {
      clearInterval(turning)
      for (const { instance } of loaded) instance.dispose()
    }
    await assertGoodStillWorks()
  })

  it('logs at most 16 KB of a line, whatever the plugin did to String.prototype.slice, and of an error thrown in a timer, even one whose stack throws', async () => {
    const { host, instance } = await loadCode(`
      export async function runEveryMinute() {
        String.prototype.slice = function () { return String(this) }
        console.log('x'.repeat(1024 * 1024))
        await new Promise((resolve) => { setTimeout(() => { throw { stack: 'z'.repeat(1024 * 1024) } }); setTimeout(resolve, 20) })
        // Its stack getter throws in the sandbox's own catch: the error reaches the host as the timer's failure.
        await new Promise((resolve) => { setTimeout(() => { throw { get stack() { throw new Error('w'.repeat(1024 * 1024)) } } }); setTimeout(resolve, 20) })
      }`)
    try {
      await instance.call('runEveryMinute', [])
      await eventually(
        'the three lines logged',
        async () => host.logs.length,
        (n) => n === 3,
      )
      for (const line of host.logs)
        assert.ok(line.message.length <= 16 * 1024 + 80 && line.message.endsWith('… (truncated)'), `${line.message.length} characters`)
    } finally {
      instance.dispose()
    }
  })

  it('has no WebAssembly to grow memory past the isolate limit with', async () => {
    const { instance } = await hostile('wasm-memory')
    try {
      const [result] = await instance.processEventBatch([{ event: 'e' }])
      assert.ok(!result.ok)
      assert.match(result.error.message, /Cannot read properties of undefined \(reading 'Memory'\)/)
    } finally {
      instance.dispose()
    }
    await assertGoodStillWorks()
  })

  it('stores at most PLUGIN_CAPTURES_PER_EVENT captures for an event that captures 20 000 times', async () => {
    const { host, instance } = await hostile('capture-flood')
    try {
      const [result] = await instance.processEventBatch([{ event: 'e' }])
      assert.ok(result.ok)
      assert.equal(host.captures.length, 10)
      assert.ok(host.logs.some((l) => l.message.endsWith('the rest were dropped (PLUGIN_CAPTURES_PER_EVENT)')))
    } finally {
      instance.dispose()
    }
  })

  it('turns deep recursion into a per-event error', async () => {
    const { instance } = await hostile('recursion')
    try {
      const [result] = await instance.processEventBatch([{ event: 'e' }])
      assert.ok(!result.ok)
      assert.equal(result.error.name, 'RangeError')
      assert.match(result.error.message, /call stack/)
    } finally {
      instance.dispose()
    }
    await assertGoodStillWorks()
  })

  const thrown: [string, RegExp][] = [
    ['throw-string', /^a plain string$/],
    ['throw-undefined', /undefined was thrown/],
    ['throw-object', /non-Error thrown: \{"code":42,"why":"not an error"\}/],
  ]
  for (const [mode, message] of thrown) {
    it(`reports ${mode} as a readable error`, async () => {
      const { instance } = await hostile(mode)
      try {
        const [result] = await instance.processEventBatch([{ event: 'e' }])
        assert.ok(!result.ok)
        assert.match(result.error.message, message)
        const error = await rejection(instance.call('processEvent', [{ event: 'e' }]))
        assert.ok(error instanceof PluginError)
        assert.equal(instance.disposed, false)
      } finally {
        instance.dispose()
      }
    })
  }

  it('survives unhandled rejections and un-awaited promises', async () => {
    const { host, instance } = await hostile('unhandled')
    try {
      for (let i = 0; i < 3; i++) {
        const [result] = await instance.processEventBatch([{ event: 'e', properties: {} }])
        assert.deepEqual(result, { ok: true, event: { event: 'e', properties: { survived: true } } })
        assert.deepEqual(await instance.call('processEvent', [{ event: 'e' }]), { event: 'e', properties: { survived: true } })
      }
      assert.ok(host.logs.some((l) => l.level === 'warn' && /unhandled promise rejection: .*nobody listens/.test(l.message)))
    } finally {
      instance.dispose()
    }
    await assertGoodStillWorks()
  })

  it('contains an infinite loop in top-level code at load time', async () => {
    const error = await rejection(loadCode('for (;;) {}\nexport function processEvent(e) { return e }', {}, { timeoutMs: 500 }))
    assert.ok(error instanceof PluginLimitError)
    assert.match(error.message, /plugin inline \(config 1\) exceeded its time limit \(500 ms\) while loading/)
    await assertGoodStillWorks()
  })

  it('contains an infinite loop inside a timer callback', async () => {
    const { host, instance } = await loadCode(`export function setupPlugin() { setTimeout(() => { for (;;) {} }, 1) }`, {}, { timeoutMs: 300 })
    await instance.call('setupPlugin', [])
    await disposal(instance)
    assert.ok(host.logs.some((l) => l.message.includes('exceeded its time limit')))
    await assertGoodStillWorks()
  })
})
