import assert from 'assert/strict'
import type { PluginInstance } from '@plugin-server/plugin-vm'
import { loadCode } from './helpers'

/**
 * isolated-vm delivers the sandbox's fire-and-forget calls (console, posthog.capture) and call
 * results through different queues. With the host's event loop busy, results overtook the logs a
 * call had made: `plugin run` once printed an empty console, and a late capture fell outside its
 * call's allowance. Every call now waits until the host has handled what the call fired.
 */
describe('plugin-vm: a call resolves after the host has handled its logs and captures', () => {
  let instance: PluginInstance | undefined
  let busy: NodeJS.Timeout | undefined
  afterEach(() => {
    clearInterval(busy)
    instance?.dispose()
  })

  /** Blocks the host's event loop a few milliseconds at a time, as a loaded worker's would be. */
  function keepHostBusy(): void {
    busy = setInterval(() => {
      const until = Date.now() + 3
      while (Date.now() < until) {
        // spin
      }
    }, 1)
  }

  it('finds every line each call logged and every event it captured in the host when the call resolves, with the host busy', async function () {
    this.timeout(120_000)
    const loaded = await loadCode(`
      export async function runEveryMinute(n, { cache }) {
        for (let i = 0; i < 3; i++) console.log('call ' + n + ' line ' + i)
        // The rest runs in the task that delivers the host's answer, not the one that started the call.
        await cache.get('key ' + n)
        posthog.capture('made by ' + n)
        console.log('call ' + n + ' done')
        return n
      }
      export async function onEvent(event) {
        try { await fetch('http://10.255.255.1/') } catch (e) {}
        console.info('saw ' + event.event)
        posthog.capture('echo ' + event.event)
      }`)
    instance = loaded.instance
    const { host } = loaded
    keepHostBusy()
    const missing: string[] = []
    const check = (n: number | string, lines: string[], capture: string) => {
      const logged = new Set(host.logs.map((l) => l.message))
      for (const line of lines) if (!logged.has(line)) missing.push(`${n}: ${line}`)
      if (!host.captures.some((c) => c.event === capture)) missing.push(`${n}: capture ${capture}`)
    }
    const calls: Promise<void>[] = []
    for (let n = 0; n < 1000; n++) {
      calls.push(
        instance.call('runEveryMinute', [n]).then(() => check(n, [0, 1, 2].map((i) => `call ${n} line ${i}`).concat(`call ${n} done`), `made by ${n}`)),
        instance.call('onEvent', [{ event: `e${n}`, properties: {} }]).then(() => check(`e${n}`, [`saw e${n}`], `echo e${n}`)),
      )
    }
    await Promise.all(calls)
    assert.deepEqual(missing, [])
    assert.equal(host.captures.length, 2000, 'no capture was dropped as if it were made outside a call')
  })

  it('delivers a capture of properties nested thousands of levels deep at once, not at the call deadline', async () => {
    const loaded = await loadCode(
      `export function processEvent(e) {
        let deep = 'leaf'
        for (let i = 0; i < 3000; i++) deep = { k: deep }
        posthog.capture('deep', { deep })
        return e
      }`,
      {},
      { timeoutMs: 5000 },
    )
    instance = loaded.instance
    const started = Date.now()
    const [result] = await instance.processEventBatch([{ event: 'seed', properties: {} }] as never)
    // A structured copy of the object never reached the host: the call waited for it until its deadline, and lost its isolate.
    assert.deepEqual(result, { ok: true, event: { event: 'seed', properties: {} } })
    assert.ok(Date.now() - started < 2500, `answered in ${Date.now() - started} ms`)
    assert.deepEqual(
      loaded.host.captures.map((c) => c.event),
      ['deep'],
    )
  })

  it('finds what the plugin logged at load time in the host once the instance is loaded', async () => {
    for (let i = 0; i < 10; i++) {
      keepHostBusy()
      const loaded = await loadCode(`console.log('loading ${i}'); export function processEvent(e) { return e }`)
      clearInterval(busy)
      loaded.instance.dispose()
      assert.deepEqual(
        loaded.host.logs.map((l) => l.message),
        [`loading ${i}`],
      )
    }
  })
})
