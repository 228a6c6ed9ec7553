import assert from 'node:assert/strict'
import { toProcessedEvent } from '@plugin-server/plugin-runtime'

const stored = (properties: Record<string, unknown>) => ({
  uuid: '0190a1b2-0000-7000-8000-000000000001',
  team_id: 1,
  event: '$autocapture',
  distinct_id: 'u1',
  ip: null,
  timestamp: '2024-05-01T10:00:00.123Z',
  properties,
})

describe('toProcessedEvent (what onEvent, onSnapshot, exportEvents and composeWebhook get, live and historical)', () => {
  it("gives plugins posthog-js's $elements as PostHog's elements and leaves $elements out of the properties", () => {
    const longText = 'x'.repeat(500)
    const event = toProcessedEvent(
      stored({
        $event_type: 'click',
        $elements: [
          {
            tag_name: 'a',
            $el_text: 'Buy',
            attr__class: 'btn primary',
            attr__href: '/buy',
            attr__id: 'buy',
            nth_child: 1,
            nth_of_type: 2,
            classes: ['btn', 'primary'],
          },
          { tag_name: 'div', $el_text: longText, attr__class: ['card', 'wide'], 'attr__data-x': '7' },
          'not an element',
        ],
      }),
    )
    assert.deepEqual(event.elements, [
      {
        text: 'Buy',
        tag_name: 'a',
        href: '/buy',
        attr_class: ['btn', 'primary'],
        attr_id: 'buy',
        nth_child: 1,
        nth_of_type: 2,
        attributes: { attr__class: 'btn primary', attr__href: '/buy', attr__id: 'buy' },
        order: 0,
      },
      { text: 'x'.repeat(400), tag_name: 'div', attr_class: ['card', 'wide'], attributes: { attr__class: ['card', 'wide'], 'attr__data-x': '7' }, order: 1 },
    ])
    assert.deepEqual(event.properties, { $event_type: 'click' })
  })

  it('gives an event without $elements an empty list of elements, as PostHog did (an exporter stringifies it)', () => {
    const event = toProcessedEvent(stored({ a: 1 }))
    assert.deepEqual(event.elements, [])
    assert.deepEqual(event.properties, { a: 1 })
  })
})
