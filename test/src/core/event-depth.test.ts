import assert from 'node:assert/strict'
import { jsonNestedDeeperThan, MAX_EVENT_DEPTH } from '@plugin-server/core'

/** As text: past about 4 400 levels this process' JSON.stringify could not write it. */
function nested(levels: number): string {
  const opens = Array.from({ length: levels }, (_, i) => (i % 2 === 0 ? '{"k":' : '['))
  const closes = opens.map((o) => (o === '[' ? ']' : '}')).reverse()
  return opens.join('') + '"leaf"' + closes.join('')
}

describe('jsonNestedDeeperThan', () => {
  it('counts the levels of objects and arrays, the outermost being level 1, as capture counts them', () => {
    for (const levels of [1, 10, MAX_EVENT_DEPTH - 1, MAX_EVENT_DEPTH]) {
      assert.equal(jsonNestedDeeperThan(nested(levels), MAX_EVENT_DEPTH), false, `${levels} levels`)
    }
    for (const levels of [MAX_EVENT_DEPTH + 1, 5000]) assert.equal(jsonNestedDeeperThan(nested(levels), MAX_EVENT_DEPTH), true, `${levels} levels`)
  })

  it('does not count brackets inside strings, escaped quotes included, nor many brackets side by side', () => {
    const event = { event: 'e', properties: { text: '{['.repeat(200), quoted: '\\"{{{{"'.repeat(50), list: Array.from({ length: 200 }, () => ({ a: [1] })) } }
    assert.equal(jsonNestedDeeperThan(JSON.stringify(event), MAX_EVENT_DEPTH), false)
    const withDeep = JSON.stringify({ ...event, deep: 'here' }).replace('"here"', nested(MAX_EVENT_DEPTH))
    assert.equal(jsonNestedDeeperThan(withDeep, MAX_EVENT_DEPTH), true, 'the event is level 1, so 64 levels below it are 65')
  })
})
