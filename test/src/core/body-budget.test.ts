import assert from 'node:assert/strict'
import { BodyBudget } from '@plugin-server/core'

describe('BodyBudget', () => {
  const MIB = 1024 * 1024

  it('keeps a quarter of the limit for small requests however many 1 MiB uploads are held open', () => {
    const budget = new BodyBudget(32 * MIB)
    const held = Array.from({ length: 32 }, () => budget.hold().resize(MIB))
    assert.equal(held.filter(Boolean).length, 24, 'large uploads together hold at most three quarters')
    assert.equal(budget.hold().resize(10 * 1024), true, "a team's 10 KB batch still gets in")
  })

  it('lets a request alone through whatever its size, and gives its bytes back on release', () => {
    const budget = new BodyBudget(MIB)
    const hold = budget.hold()
    assert.equal(hold.resize(20 * MIB), true)
    assert.equal(budget.hold().resize(2 * MIB), false)
    hold.release()
    assert.equal(budget.bytes, 0)
  })
})
