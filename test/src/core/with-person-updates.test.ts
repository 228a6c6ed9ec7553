import assert from 'node:assert/strict'
import { withPersonUpdates } from '@plugin-server/core'

describe('withPersonUpdates', () => {
  it('joins top-level $set / $set_once into the properties ones, the top-level keys winning', () => {
    const props = withPersonUpdates({ plan: 'pro', $set: { email: 'old@b.c', name: 'A' } }, { email: 'new@b.c' }, { first: 1 })
    assert.deepEqual(props, { plan: 'pro', $set: { email: 'new@b.c', name: 'A' }, $set_once: { first: 1 } })
  })

  it('replaces a properties.$set that is not an object instead of spreading it into index keys', () => {
    assert.deepEqual(withPersonUpdates({ $set: 'abc', $set_once: ['x'] }, { email: 'a@b.c' }, { first: 1 }), {
      $set: { email: 'a@b.c' },
      $set_once: { first: 1 },
    })
  })

  it('leaves the properties as they are without top-level updates', () => {
    const properties = { $set: 'kept as sent' }
    assert.equal(withPersonUpdates(properties), properties)
  })
})
