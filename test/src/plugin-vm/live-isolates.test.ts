import assert from 'node:assert/strict'
import { LiveIsolates } from '@plugin-server/plugin-vm'

describe('plugin-vm: LiveIsolates (plugin_vm_live_isolates)', () => {
  it('counts the isolates not disposed, and holds few entries for disposed ones though nothing counts them', () => {
    const tracker = new LiveIsolates()
    const live = Array.from({ length: 10 }, () => ({ isDisposed: false }))
    for (const isolate of live) tracker.track(isolate)
    for (let i = 0; i < 10_000; i++) {
      const isolate = { isDisposed: false }
      tracker.track(isolate)
      isolate.isDisposed = true
    }
    assert.ok(tracker.entries <= 64, `${tracker.entries} entries held for 10 live isolates after 10 000 made and disposed`)
    assert.equal(tracker.count(), 10)
    live[0].isDisposed = true
    assert.equal(tracker.count(), 9)
  })
})
