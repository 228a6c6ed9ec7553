import assert from 'node:assert/strict'
import { ConfigErrorWrites } from '@plugin-server/ingestion'

describe("ConfigErrorWrites (how often a config's last processEvent error is written)", () => {
  it('lets each config write once per interval, configs apart', () => {
    const writes = new ConfigErrorWrites(5_000)
    assert.equal(writes.due(1, 0), true)
    assert.equal(writes.due(1, 4_999), false)
    assert.equal(writes.due(2, 4_999), true, 'another config has its own interval')
    assert.equal(writes.due(1, 5_000), true)
    assert.equal(writes.due(1, 9_999), false)
  })

  it('forgets configs whose interval is over once it holds 1 024, keeping those still within theirs', () => {
    const writes = new ConfigErrorWrites(5_000)
    for (let id = 0; id < 1_023; id++) writes.due(id, 0)
    writes.due(5_000, 4_000)
    // Full: the write at 6 000 drops every entry of time 0, not the one of 4 000.
    assert.equal(writes.due(6_000, 6_000), true)
    assert.equal(writes.due(5_000, 6_000), false, 'still within its interval: kept')
    assert.equal(writes.size, 2)
  })
})
