import assert from 'node:assert/strict'
import { KeyedInterval } from '@plugin-server/core'

describe('KeyedInterval (at most one go per key per interval)', () => {
  it('lets each key go once per interval, keys apart', () => {
    const gate = new KeyedInterval<number>(5_000)
    assert.equal(gate.due(1, 0), true)
    assert.equal(gate.due(1, 4_999), false)
    assert.equal(gate.due(2, 4_999), true, 'another key has its own interval')
    assert.equal(gate.due(1, 5_000), true)
    assert.equal(gate.due(1, 9_999), false)
  })

  it('forgets keys whose interval is over once it holds 1 024, keeping those still within theirs', () => {
    const gate = new KeyedInterval<number>(5_000)
    for (let key = 0; key < 1_023; key++) gate.due(key, 0)
    gate.due(5_000, 4_000)
    // Full: the go at 6 000 drops every entry of time 0, not the one of 4 000.
    assert.equal(gate.due(6_000, 6_000), true)
    assert.equal(gate.due(5_000, 6_000), false, 'still within its interval: kept')
    assert.equal(gate.size, 2)
  })
})
