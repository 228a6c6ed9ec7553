import assert from 'node:assert/strict'
import { TryGate, TryRefusedError } from '@plugin-server/try-it'

describe("TryGate (the dry runs of one process, a team's share of them)", () => {
  it("lets one team hold all slots but one, so another team's run still starts at once", async () => {
    const gate = new TryGate(2, 50)
    const first = await gate.acquire(1)
    await assert.rejects(
      () => gate.acquire(1),
      (err: TryRefusedError) =>
        err instanceof TryRefusedError &&
        err.status === 429 &&
        /this team already has 1 dry run running on this server, the most one team may \(1 of 2/.test(err.message),
    )
    const other = await gate.acquire(2)
    await assert.rejects(
      () => gate.acquire(3),
      (err: TryRefusedError) => err.status === 429 && /^2 dry runs are already running on this server/.test(err.message),
    )
    first()
    other()
    const again = await gate.acquire(1)
    again()
  })

  it('hands a released slot to the first waiter that may take it, skipping a team at its share', async () => {
    const gate = new TryGate(3, 5000)
    const releaseA1 = await gate.acquire(1)
    const releaseA2 = await gate.acquire(1)
    const releaseB = await gate.acquire(2)
    const order: string[] = []
    const waitingA = gate.acquire(1).then((release) => (order.push('team 1'), release))
    const waitingC = gate.acquire(3).then((release) => (order.push('team 3'), release))
    releaseB()
    // Team 1 holds 2 of 3 slots, its share: the slot goes to team 3, which waited behind it.
    const releaseC = await waitingC
    assert.deepEqual(order, ['team 3'])
    releaseA1()
    const releaseA3 = await waitingA
    assert.deepEqual(order, ['team 3', 'team 1'])
    for (const release of [releaseA2, releaseA3, releaseC]) release()
  })

  it('lets a team use the only slot of a gate with one', async () => {
    const gate = new TryGate(1, 50)
    const release = await gate.acquire(7)
    await assert.rejects(
      () => gate.acquire(8),
      (err: TryRefusedError) => err.status === 429,
    )
    release()
    ;(await gate.acquire(8))()
  })
})
