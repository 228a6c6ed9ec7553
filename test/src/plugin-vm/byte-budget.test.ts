import assert from 'node:assert/strict'
import path from 'node:path'
import type { ByteBudget, SharedByteBudget } from '@plugin-server/plugin-vm'

// Internal to plugin-vm (every host-held byte goes through them), so loaded by path as cache-reads.test.ts does.
const { fullAt, holdBytes, releaseBytes, roomIn, wouldPass } = require(
  path.resolve(__dirname, '../../../libs/plugin-vm/dist/byte-budget.js'),
) as typeof import('@plugin-server/plugin-vm/dist/byte-budget')

/** A process budget of 800 bytes whose last 100 are kept for teams holding under 50, two teams within it, an instance within the first. */
function budgets() {
  const process: SharedByteBudget = { bytes: 0, limit: 800, name: 'the process', variable: 'PROCESS_VAR', reserve: { amount: 100, below: 50 } }
  const team = (n: number): SharedByteBudget => ({ bytes: 0, limit: 600, within: process, name: `team ${n}`, variable: 'TEAM_VAR' })
  const big = team(1)
  const small = team(2)
  const instance: ByteBudget = { bytes: 0, limit: 1000, within: big }
  return { process, big, small, instance }
}

describe('plugin-vm: byte budgets (ByteBudget.within, Reserve)', () => {
  it('holdBytes: counts at every level and refuses what would pass any; releaseBytes gives it back at every level', () => {
    const { process, big, instance } = budgets()
    assert.equal(holdBytes(instance, 600), true)
    assert.deepEqual([instance.bytes, big.bytes, process.bytes], [600, 600, 600])
    assert.equal(holdBytes(instance, 1), false, "the team's 600 is full")
    assert.equal(fullAt(instance, 1), big)
    releaseBytes(instance, 600)
    assert.deepEqual([instance.bytes, big.bytes, process.bytes], [0, 0, 0])
  })

  it("fullAt: keeps a reserve's last bytes from a team holding its mark or more, and gives them to a team under it, up to the limit", () => {
    const { process, big, small } = budgets()
    assert.equal(holdBytes(big, 600), true)
    const other: SharedByteBudget = { bytes: 0, limit: 600, within: process, name: 'team 3', variable: 'TEAM_VAR' }
    assert.equal(holdBytes(other, 100), true, '700 held: up to the reserve')
    assert.equal(fullAt(other, 1), process, 'team 3 holds 100, past the mark of 50: the reserve is not for it')
    assert.equal(holdBytes(other, 1), false)
    assert.equal(fullAt(small, 80), undefined, 'team 2 holds nothing: the reserve is for it')
    assert.equal(holdBytes(small, 80), true)
    assert.equal(fullAt(small, 1), process, 'team 2 now holds 80, past the mark')
    releaseBytes(small, 80)
    assert.equal(fullAt(small, 101), process, 'no team passes the limit itself')
  })

  it('roomIn: agrees with fullAt, the reserve counted as no room for a team at its mark', () => {
    const { big, small } = budgets()
    holdBytes(big, 600)
    assert.equal(roomIn(big), 0, "team 1 is at its own 600, and past the reserve's mark")
    assert.equal(roomIn(small), 200, 'team 2 holds nothing: the 100 left before the reserve and the reserve')
    holdBytes(small, 60)
    assert.equal(roomIn(small), 40, 'team 2 holds 60, past the mark: what is left before the reserve')
    for (const n of [40, 41]) assert.equal(fullAt(small, n) === undefined, n <= roomIn(small))
  })

  it('wouldPass: says the limit would be passed, or, when what was asked fit the limit, that the rest is kept for teams holding little and what the asking team holds', () => {
    const { process, small, instance } = budgets()
    holdBytes(instance, 450)
    holdBytes(small, 200)
    // 650 held: 100 more reach into the reserve (past 700) for either team, both past the mark of 50.
    assert.equal(fullAt(small, 100), process)
    assert.equal(
      wouldPass(process, 100, small),
      'the process holds 650 of 800 bytes, and the last 100 bytes are kept for teams holding under 50; team 2 is already 200 bytes',
    )
    assert.equal(fullAt(instance, 100), process, "asked for at an instance's budget")
    assert.equal(
      wouldPass(process, 100, instance),
      'the process holds 650 of 800 bytes, and the last 100 bytes are kept for teams holding under 50; team 1 is already 450 bytes',
      "its team's holding is named",
    )
    assert.equal(
      wouldPass(process, 100, process),
      'the process holds 650 of 800 bytes, and the last 100 bytes are kept for teams holding under 50',
      'no team to name',
    )
    assert.equal(fullAt(small, 200), process)
    assert.equal(wouldPass(process, 200, small), 'the process would pass 800 bytes')
  })
})
