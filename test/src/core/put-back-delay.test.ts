import assert from 'node:assert/strict'
import { putBackDelayMs } from '@plugin-server/core'

describe('putBackDelayMs (how long a job that cannot run yet is put back)', () => {
  const job = (attemptsStarted: number, attemptsMade = 0) => ({ attemptsStarted, attemptsMade })

  it('gives the base the first time, twice that each time after, at most the cap', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 60].map((started) => putBackDelayMs(job(started), 200, 1600, 0.5)),
      [200, 400, 800, 1600, 1600, 1600, 1600],
    )
  })

  it('spreads the delay a quarter either way, and counts only starts that ended in neither a failure nor a retry', () => {
    assert.deepEqual([putBackDelayMs(job(1), 200, 1600, 0), putBackDelayMs(job(1), 200, 1600, 1)], [150, 250])
    assert.equal(putBackDelayMs(job(6, 4), 200, 1600, 0.5), 400)
    assert.equal(putBackDelayMs(job(0), 200, 1600, 0.5), 200, 'a job never started counts as the first time')
  })
})
