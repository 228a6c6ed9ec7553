import assert from 'node:assert/strict'
import type { Queue } from 'bullmq'
import { EventBatcher, IngestBatch, IngestEvent, QueueBacklogError } from '@plugin-server/core'

/** A queue whose every add waits until the test answers it. */
function heldQueue() {
  const adds: { events: IngestEvent[]; answer: () => void }[] = []
  const queue = {
    add: (_name: string, data: IngestBatch) => new Promise<void>((resolve) => adds.push({ events: data.events, answer: resolve })),
  }
  return { adds, queue: queue as unknown as Queue<IngestBatch> }
}

const event = (n: number): IngestEvent =>
  ({ uuid: `u${n}`, team_id: 1, event: 'e', distinct_id: 'd', properties: {}, timestamp: '', now: '', sent_at: null, ip: null, site_url: '' }) as IngestEvent

describe('EventBatcher', () => {
  it('gathers events into batches of maxEvents and settles an add once every batch holding its events is acknowledged', async () => {
    const { adds, queue } = heldQueue()
    const batcher = new EventBatcher(queue, { maxEvents: 2, maxBytes: 1_000_000, maxWaitMs: 5 })
    let settled = false
    const added = batcher.add([event(1), event(2), event(3)]).then(() => void (settled = true))
    await new Promise((r) => setTimeout(r, 20))
    assert.deepEqual(
      adds.map((a) => a.events.map((e) => e.uuid)),
      [['u1', 'u2'], ['u3']],
    )
    adds[0].answer()
    await new Promise((r) => setImmediate(r))
    assert.equal(settled, false, 'one of its batches is not acknowledged yet')
    adds[1].answer()
    await added
  })

  it('refuses an add at once with QueueBacklogError while the queue has not acknowledged maxUnacknowledgedBytes, and takes adds again once it has', async () => {
    const { adds, queue } = heldQueue()
    const batcher = new EventBatcher(queue, { maxEvents: 1, maxBytes: 1_000_000, maxWaitMs: 5, maxUnacknowledgedBytes: 250 })
    const pending = [batcher.add([event(1)], [100]), batcher.add([event(2)], [100]), batcher.add([event(3)], [100])]
    await assert.rejects(batcher.add([event(4)], [100]), (err: unknown) => {
      assert.ok(err instanceof QueueBacklogError)
      assert.equal(err.unacknowledgedBytes, 300)
      assert.equal(err.limitBytes, 250)
      return true
    })
    assert.equal(adds.length, 3, 'the refused events were not sent')
    adds[0].answer()
    await pending[0]
    const taken = batcher.add([event(5)], [100])
    assert.equal(adds.length, 4)
    for (const add of adds.slice(1)) add.answer()
    await Promise.all([...pending, taken])
  })
})
