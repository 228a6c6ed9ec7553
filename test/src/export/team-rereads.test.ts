import assert from 'node:assert/strict'
import { TeamRereads } from '@plugin-server/export'
import { eventually } from '../harness/fleet'

/** A read of a team's configs the test ends: `reads` records when each began. */
function reader() {
  const reads: { teamId: number; at: number; end: (err?: Error) => void }[] = []
  const read = (teamId: number) => new Promise<void>((resolve, reject) => reads.push({ teamId, at: Date.now(), end: (err) => (err ? reject(err) : resolve()) }))
  return { reads, read }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

describe("TeamRereads (a team's configs read again for hand-offs naming configs the exporter does not know)", () => {
  it('shares one read among the hand-offs waiting on it, and goes on once it succeeded', async () => {
    const { reads, read } = reader()
    const rereads = new TeamRereads(read, 0)
    const since = Date.now()
    const waiting = [rereads.after(7, since), rereads.after(7, since)]
    await tick()
    assert.equal(reads.length, 1)
    reads[0].end()
    await Promise.all(waiting)
    assert.equal(reads.length, 1)
  })

  it('reads again for a hand-off that began after the read in flight did', async () => {
    const { reads, read } = reader()
    const rereads = new TeamRereads(read, 0)
    const first = rereads.after(7, Date.now())
    await tick()
    await new Promise((resolve) => setTimeout(resolve, 5))
    const later = rereads.after(7, Date.now())
    reads[0].end()
    await first
    await tick()
    assert.equal(reads.length, 2, 'the read in flight began before the later hand-off: it says nothing of what that one names')
    reads[1].end()
    await later
  })

  it('fails the hand-offs waiting on a read that failed, and reads again for their retry', async () => {
    const { reads, read } = reader()
    const rereads = new TeamRereads(read, 0)
    const since = Date.now()
    const waiting = rereads.after(7, since)
    await tick()
    reads[0].end(new Error('Connection terminated'))
    await assert.rejects(waiting, /Connection terminated/)
    const retry = rereads.after(7, since)
    await tick()
    assert.equal(reads.length, 2)
    reads[1].end()
    await retry
  })

  it('reads a team at most once per minimum gap, and other teams apart', async () => {
    const { reads, read } = reader()
    const rereads = new TeamRereads(read, 300)
    const first = rereads.after(7, Date.now())
    await tick()
    reads[0].end()
    await first
    const other = rereads.after(8, Date.now())
    await tick()
    assert.equal(reads.length, 2, "another team's read is not held back")
    reads[1].end()
    await other
    // A hand-off that began after the first read did (a read that began in the same millisecond would do).
    await new Promise((resolve) => setTimeout(resolve, 5))
    const again = rereads.after(7, Date.now())
    await tick()
    assert.equal(reads.length, 2, 'not yet: within the gap')
    await eventually(
      'the next read of the team',
      async () => reads.length,
      (n) => n === 3,
    )
    assert.ok(reads[2].at - reads[0].at >= 290, `${reads[2].at - reads[0].at} ms apart`)
    reads[2].end()
    await again
  })

  it('spaces a read after a failed one by the minimum gap too, and survives a read that throws at once', async () => {
    let calls = 0
    const rereads = new TeamRereads(() => {
      calls++
      if (calls === 1) throw new Error('thrown before any await')
      return Promise.resolve()
    }, 200)
    await assert.rejects(rereads.after(7, Date.now()), /thrown before any await/)
    const started = Date.now()
    await rereads.after(7, Date.now())
    assert.equal(calls, 2, 'the team still has reads')
    assert.ok(Date.now() - started >= 150, `read again ${Date.now() - started} ms after the failed one`)
  })

  it('ends the wait without a read once what the hand-off names is known (its reload message came meanwhile)', async () => {
    const { reads, read } = reader()
    const rereads = new TeamRereads(read, 0)
    let known = false
    const waiting = rereads.after(7, Date.now(), () => known)
    await tick()
    known = true
    reads[0].end()
    await waiting
    assert.equal(reads.length, 1)
    await rereads.after(7, Date.now() + 60_000, () => true)
    assert.equal(reads.length, 1, 'nothing to read for a hand-off whose configs are known')
  })
})
