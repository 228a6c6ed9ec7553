import assert from 'node:assert/strict'
import { TokenRateLimiter } from '@plugin-server/capture-lib'

describe('TokenRateLimiter', () => {
  it('lets a burst through, then refills at the configured rate, per token', () => {
    let now = 0
    const limiter = new TokenRateLimiter(10, 20, () => now)
    assert.equal(limiter.take('a', 20), true)
    assert.equal(limiter.take('a', 1), false, 'the burst is spent')
    assert.equal(limiter.take('b', 5), true, 'another token has its own bucket')
    now = 500
    assert.equal(limiter.take('a', 5), true, 'half a second refills 5')
    assert.equal(limiter.take('a', 1), false)
    now = 10_000
    assert.equal(limiter.take('a', 20), true)
  })

  it('lets a request larger than the burst through when the bucket is full, and the debt holds the average rate', () => {
    let now = 0
    const limiter = new TokenRateLimiter(5, 50, () => now)
    assert.equal(limiter.take('a', 100), true, 'a full bucket takes a batch of twice the burst')
    assert.equal(limiter.take('a', 1), false)
    now = 10_000
    assert.equal(limiter.take('a', 1), false, '50 events of debt take 10 s to pay back at 5 a second')
    now = 10_200
    assert.equal(limiter.take('a', 1), true)
    assert.equal(limiter.take('a', 100), false, 'not full: a large request waits for a full bucket')
    now = 30_200
    assert.equal(limiter.take('a', 100), true)
  })

  it('keeps the debt of one request to one burst, so a single huge batch cannot lock its project out for hours', () => {
    let now = 0
    const limiter = new TokenRateLimiter(5, 50, () => now)
    assert.equal(limiter.take('a', 100_000), true)
    now = 20_000
    assert.equal(limiter.take('a', 1), true, 'one burst of debt is paid back in 10 s at 5 a second')
  })

  it('takes a wall clock stepped back (NTP, a VM restored) as no time passed, not as an hour of debt refusing every token', () => {
    let now = 3_600_000
    const limiter = new TokenRateLimiter(10, 20, () => now)
    assert.equal(limiter.take('a', 10), true)
    now = 0
    assert.equal(limiter.take('a', 10), true, 'what was left before the step is still there')
    assert.equal(limiter.take('a', 1), false)
    now = 1000
    assert.equal(limiter.take('a', 10), true, 'and it refills from the new time on')
  })

  it("refund gives back exactly what take took, a full bucket's oversized request included", () => {
    let now = 0
    const limiter = new TokenRateLimiter(5, 50, () => now)
    assert.equal(limiter.take('a', 30), true)
    limiter.refund('a', 30)
    assert.equal(limiter.take('a', 50), true, 'the refunded 30 are back: the bucket is full again')
    assert.equal(limiter.take('a', 1), false)
    now = 20_000
    assert.equal(limiter.take('a', 200), true, 'full: an oversized request passes, its debt capped at one burst')
    limiter.refund('a', 200)
    assert.equal(limiter.take('a', 50), true, 'refunded to full, not past it')
    assert.equal(limiter.take('a', 1), false)
  })

  it('does nothing when the rate is 0', () => {
    const limiter = new TokenRateLimiter(0, 0)
    assert.equal(limiter.enabled, false)
    assert.equal(limiter.take('a', 1_000_000), true)
  })
})
