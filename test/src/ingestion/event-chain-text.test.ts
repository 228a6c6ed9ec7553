import assert from 'node:assert/strict'
import type { IngestEvent } from '@plugin-server/core'
import { runEventChain } from '@plugin-server/ingestion'
import type { BatchText, PluginEvent } from '@plugin-server/plugin-vm'

const event = (i: number): IngestEvent => {
  const now = new Date(1_767_225_600_000 + i).toISOString()
  return { uuid: `uuid-${i}`, team_id: 1, event: '$pageview', distinct_id: 'u', properties: { i }, timestamp: now, now, sent_at: null, ip: null, site_url: '' }
}

/** A link that adds its label to each event's `seen` and fails the events whose index it is told to, answering as the sandbox does. */
function link(label: string, failing: number[] = []) {
  const batches: string[] = []
  return {
    label,
    batches,
    call: (batch: string): BatchText => {
      batches.push(batch)
      const events = JSON.parse(batch) as PluginEvent[]
      const fails = events.map((e) => failing.includes(e.properties!.i as number))
      const returned = events
        .filter((_, k) => !fails[k])
        .map((e) => ({ ...e, properties: { ...e.properties, seen: [...((e.properties!.seen as string[]) ?? []), label] } }))
      return {
        codes: fails.map((f) => (f ? 'X' : 'E')).join(''),
        errors: fails.flatMap((f) => (f ? [{ name: 'Error', message: `${label} failed`, isRetryError: false }] : [])),
        events: '[' + returned.map((e) => JSON.stringify(e)).join('\n,') + ']',
      }
    },
  }
}

describe('runEventChain (the batch text between links)', () => {
  const run = (links: ReturnType<typeof link>[], events: IngestEvent[]) =>
    runEventChain(events, links, {
      runs: () => true,
      call: async (l, batch) => l.call(batch),
      deferred: () => [],
    })

  it("hands a link's returned text to the next link as its batch, unchanged, and decodes the last one", async () => {
    const [a, b] = [link('a'), link('b')]
    const slots = await run([a, b], [event(0), event(1), event(2)])
    const answerOfA = a.call(a.batches[0]).events
    assert.equal(b.batches[0], answerOfA)
    assert.deepEqual(
      slots.map((s) => s.event.properties.seen),
      [
        ['a', 'b'],
        ['a', 'b'],
        ['a', 'b'],
      ],
    )
    assert.deepEqual(slots[0].event.properties.$plugins_succeeded, ['a', 'b'])
  })

  it('gives the next link the event as it was before a link that failed on it, beside the others as that link returned them', async () => {
    const [a, b] = [link('a', [1]), link('b')]
    const slots = await run([a, b], [event(0), event(1), event(2)])
    const seen = (JSON.parse(b.batches[0]) as PluginEvent[]).map((e) => e.properties!.seen ?? null)
    assert.deepEqual(seen, [['a'], null, ['a']])
    assert.deepEqual(
      slots.map((s) => [s.event.properties.seen, s.event.properties.$plugins_failed]),
      [
        [['a', 'b'], []],
        [['b'], ['a']],
        [['a', 'b'], []],
      ],
    )
  })
})
