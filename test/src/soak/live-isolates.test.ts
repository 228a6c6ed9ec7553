import assert from 'node:assert/strict'
import { Registry } from 'prom-client'
import { registerLiveIsolatesGauge } from '@plugin-server/plugin-runtime'
import { loadCode } from '../plugin-vm/helpers'

describe('plugin_vm_live_isolates (the gauge npm run soak reads)', () => {
  async function liveIsolates(registry: Registry): Promise<number> {
    const metric = await registry.getSingleMetric('plugin_vm_live_isolates')!.get()
    return metric.values[0].value
  }

  it('counts an isolate from its load until it is disposed, once however often it is registered', async () => {
    const registry = new Registry()
    registerLiveIsolatesGauge(registry)
    registerLiveIsolatesGauge(registry)
    const before = await liveIsolates(registry)
    const { instance } = await loadCode('export function processEvent(e) { return e }')
    assert.equal(await liveIsolates(registry), before + 1)
    instance.dispose()
    assert.equal(await liveIsolates(registry), before)
  })

  it('stops counting an isolate that a failed load disposed', async () => {
    const registry = new Registry()
    registerLiveIsolatesGauge(registry)
    const before = await liveIsolates(registry)
    await assert.rejects(loadCode('throw new Error("broken at load")'))
    assert.equal(await liveIsolates(registry), before)
  })
})
