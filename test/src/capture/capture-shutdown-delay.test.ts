import assert from 'node:assert/strict'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'

describe('capture on SIGTERM', function () {
  this.timeout(90_000)
  let fleet: TestFleet

  before(async () => {
    fleet = await createTestFleet({ CAPTURE_SHUTDOWN_DELAY_MS: '10000', SHUTDOWN_GRACE_MS: '30000' })
  })
  after(async () => fleet?.close())

  it('fails /readyz at once but goes on taking events for CAPTURE_SHUTDOWN_DELAY_MS, then exits 0', async () => {
    const capture = await fleet.start('capture')
    const port = await capture.healthPort()
    const readyz = async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`)
        return { status: res.status, body: (await res.json()) as { failures?: Record<string, string> } }
      } catch (err) {
        return { status: 0, body: { error: (err as Error).message } }
      }
    }
    // Ready first (its checks may lag on a busy machine), so the 503 below is the shutdown's.
    await eventually('ready', readyz, (r) => r.status === 200)
    const signalled = Date.now()
    const exited = capture.kill('SIGTERM')
    const notReady = await eventually('not ready', readyz, (r) => r.status !== 200)
    assert.deepEqual(notReady, { status: 503, body: { status: 'not ready', failures: { shutdown: 'capture is shutting down' } } })
    const res = await fetch(`${fleet.captureUrl}/batch`, {
      method: 'POST',
      body: JSON.stringify({ api_key: fleet.team.api_token, batch: [{ event: 'late', distinct_id: 'u', properties: {} }] }),
    })
    assert.equal(res.status, 200)
    assert.equal(await exited, 0)
    assert.ok(Date.now() - signalled >= 10_000, `exited ${Date.now() - signalled} ms after SIGTERM`)
  })
})
