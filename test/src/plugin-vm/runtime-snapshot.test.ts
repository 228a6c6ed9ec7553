import assert from 'assert/strict'
import { PluginInstance, runtimeSnapshot, runtimeSnapshotFailure } from '@plugin-server/plugin-vm'
import { loadCode } from './helpers'

/** What a plugin sees of its isolate's global state, as one event property. */
const INSPECT = `export function processEvent(event, { config }) {
  const names = Object.getOwnPropertyNames(globalThis)
  event.properties.seen = {
    names,
    leakOnGlobal: globalThis.leakedSecret ?? null,
    leakOnPrototype: ({}).leakedSecret ?? null,
    consoleTag: console.leakedSecret ?? null,
    wasm: typeof WebAssembly,
    gc: typeof gc,
    runtime: typeof __ps_runtime,
    link: typeof __ps_link,
    random: Math.random(),
    config,
  }
  return event
}`

/** Leaves its config's secret everywhere a plugin can write in its own isolate. */
const LEAKER = `export function setupPlugin({ config }) {
  globalThis.leakedSecret = config.token
  Object.prototype.leakedSecret = config.token
  console.leakedSecret = config.token
}
export function processEvent(event) { return event }`

interface Seen {
  names: string[]
  leakOnGlobal: string | null
  leakOnPrototype: string | null
  consoleTag: string | null
  wasm: string
  gc: string
  runtime: string
  link: string
  random: number
  config: Record<string, unknown>
}

async function inspect(instance: PluginInstance): Promise<Seen> {
  const [result] = await instance.processEventBatch([{ event: 'inspect', properties: {} }])
  assert.ok(result.ok && result.event, JSON.stringify(result))
  return result.event.properties!.seen as Seen
}

describe('plugin-vm: the sandbox runtime startup snapshot', () => {
  const instances: PluginInstance[] = []
  afterEach(() => instances.splice(0).forEach((i) => i.dispose()))

  async function load(code: string, config: Record<string, unknown>, runtimeSnapshot = true): Promise<PluginInstance> {
    const { instance } = await loadCode(code, { config }, { runtimeSnapshot })
    instances.push(instance)
    return instance
  }

  it('is made on this machine, once per process, and holds no config value', async () => {
    assert.equal(runtimeSnapshotFailure(), null)
    const before = runtimeSnapshot()
    assert.ok(before, 'isolated-vm made no snapshot')
    const leaker = await load(LEAKER, { token: 'snapshot-secret-4f1c' })
    await leaker.call('setupPlugin', [])
    assert.equal(runtimeSnapshot(), before, 'the snapshot is made once, not again per load')
    assert.equal(Buffer.from(before.copy()).includes('snapshot-secret-4f1c'), false)
  })

  it("starts each isolate with none of another config's state, whatever that config wrote", async () => {
    const leaker = await load(LEAKER, { token: 'config-a-secret-93be' })
    await leaker.call('setupPlugin', [])
    const seen = await inspect(await load(INSPECT, { token: 'config-b-token' }))
    assert.equal(seen.leakOnGlobal, null)
    assert.equal(seen.leakOnPrototype, null)
    assert.equal(seen.consoleTag, null)
    assert.ok(!seen.names.includes('leakedSecret'))
    assert.deepEqual(seen.config, { token: 'config-b-token' })
  })

  it('leaves plugins no WebAssembly, gc or host link, in every isolate made from it', async () => {
    for (const instance of [await load(INSPECT, {}), await load(INSPECT, {})]) {
      const seen = await inspect(instance)
      assert.deepEqual([seen.wasm, seen.gc, seen.runtime, seen.link], ['undefined', 'undefined', 'undefined', 'undefined'])
      assert.ok(!seen.names.some((name) => name.startsWith('__ps_')), seen.names.join(','))
    }
  })

  it("gives each isolate its own Math.random sequence, not the snapshot's", async () => {
    const values = await Promise.all([load(INSPECT, {}), load(INSPECT, {}), load(INSPECT, {})].map(async (i) => (await inspect(await i)).random))
    assert.equal(new Set(values).size, values.length, values.join(', '))
  })

  it('sees the same globals with the snapshot as without it (PLUGIN_RUNTIME_SNAPSHOT=false)', async () => {
    const withSnapshot = await inspect(await load(INSPECT, { n: 1 }, true))
    const without = await inspect(await load(INSPECT, { n: 1 }, false))
    assert.deepEqual([...withSnapshot.names].sort(), [...without.names].sort())
    assert.deepEqual(without.config, { n: 1 })
    assert.equal(without.wasm, 'undefined')
    assert.equal(without.gc, 'undefined')
  })
})
