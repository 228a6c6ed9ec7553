import assert from 'node:assert/strict'
import path from 'node:path'

const { HostTimers, MAX_HOST_TIMERS } = require(path.resolve(__dirname, '../../../libs/plugin-vm/dist/vm/host-timers')) as {
  HostTimers: new (fire: (id: number) => void) => { set(id: number, ms: number): void; clear(id: number): void; clearAll(): void }
  MAX_HOST_TIMERS: number
}

describe('HostTimers (the host side of one isolate’s timers)', () => {
  it('refuses a timer past MAX_HOST_TIMERS pending, whatever the sandbox counted, and takes one again once another is cleared or set again', () => {
    const timers = new HostTimers(() => undefined)
    try {
      for (let id = 1; id <= MAX_HOST_TIMERS; id++) timers.set(id, 1e9)
      assert.throws(() => timers.set(MAX_HOST_TIMERS + 1, 1e9), { name: 'RangeError', message: `too many pending timers (limit ${MAX_HOST_TIMERS})` })
      timers.set(1, 5e8)
      timers.clear(2)
      timers.set(MAX_HOST_TIMERS + 1, 1e9)
    } finally {
      timers.clearAll()
    }
  })

  it('fires a timer once its delay has passed', async () => {
    const fired: number[] = []
    const timers = new HostTimers((id) => fired.push(id))
    await new Promise<void>((resolve) => {
      timers.set(7, 1)
      const waiting = setInterval(() => fired.length > 0 && (clearInterval(waiting), resolve()), 1)
    })
    assert.deepEqual(fired, [7])
  })
})
