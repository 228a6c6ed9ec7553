import assert from 'node:assert/strict'
import { assertJobData } from '@plugin-server/core'
import { Job, UnrecoverableError } from 'bullmq'

/** What moveToActive hands a worker when Redis evicted the job's hash: an id without its data. */
const jobWith = (data: unknown) => ({ id: 'h-7', data }) as unknown as Job

describe('assertJobData', () => {
  it('fails a job whose data Redis evicted for good (UnrecoverableError), naming the job and why', () => {
    for (const data of [undefined, null, {}, { events: 'not a list' }]) {
      assert.throws(
        () => assertJobData(jobWith(data), 'events', 'events'),
        (err: unknown) => err instanceof UnrecoverableError && err.message === 'job h-7 has no events: its data is gone from Redis (evicted?)',
      )
    }
  })

  it('lets a job with its data through, an empty list too', () => {
    assertJobData(jobWith({ events: [] }), 'events', 'events')
    assertJobData(jobWith({ events: [{ uuid: 'u' }], teamId: 1 }), 'events', 'events')
  })
})
