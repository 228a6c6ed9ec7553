import assert from 'node:assert/strict'
import { withoutTrailingSlashes } from '@plugin-server/core'

describe('withoutTrailingSlashes', () => {
  it('takes off every trailing slash, and gives / for a path of slashes only', () => {
    assert.equal(withoutTrailingSlashes('/e/'), '/e')
    assert.equal(withoutTrailingSlashes('/batch///'), '/batch')
    assert.equal(withoutTrailingSlashes('/e/x'), '/e/x')
    assert.equal(withoutTrailingSlashes('/'), '/')
    assert.equal(withoutTrailingSlashes('///'), '/')
    assert.equal(withoutTrailingSlashes(''), '/')
  })

  it('answers at once for a million slashes then a letter, which /\\/+$/ scanned in time growing with the square of their number', function () {
    // /\/+$/ took 80 ms for 16 000 slashes; for a million, minutes.
    this.timeout(10_000)
    const path = `/e${'/'.repeat(1_000_000)}x`
    assert.equal(withoutTrailingSlashes(path), path)
  })
})
