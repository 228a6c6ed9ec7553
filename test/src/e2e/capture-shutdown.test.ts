import assert from 'node:assert/strict'
import http from 'node:http'
import { randomUUID } from 'node:crypto'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'

describe('capture shutdown with keep-alive clients sending', function () {
  this.timeout(120_000)
  let fleet: TestFleet
  after(async () => fleet?.close())

  it('finishes within the grace period, exits 0, and every event it acknowledged is stored', async () => {
    fleet = await createTestFleet({ SHUTDOWN_GRACE_MS: '20000' })
    const capture = await fleet.start('capture')
    await fleet.start('ingest-worker')
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })
    const url = new URL(fleet.captureUrl)
    const send = (body: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(
          { host: url.hostname, port: url.port, path: '/batch/', method: 'POST', agent, headers: { 'Content-Type': 'application/json' } },
          (res) => (res.resume(), res.on('end', () => resolve(res.statusCode ?? 0))),
        )
        req.on('error', reject)
        req.end(body)
      })
    const acked: string[] = []
    let stop = false
    const client = async () => {
      while (!stop) {
        const batch = Array.from({ length: 10 }, () => ({ event: 'sigterm', distinct_id: 'u', uuid: randomUUID() }))
        try {
          if ((await send(JSON.stringify({ api_key: fleet.team.api_token, batch }))) === 200) acked.push(...batch.map((e) => e.uuid))
        } catch {
          // Refused once the listener is closed; the loop ends when capture has exited.
          await new Promise((resolve) => setImmediate(resolve))
        }
      }
    }
    const clients = Array.from({ length: 8 }, client)
    await eventually(
      'keep-alive requests answered',
      async () => acked.length,
      (n) => n >= 200,
    )
    const started = Date.now()
    const code = await capture.kill('SIGTERM')
    const took = Date.now() - started
    stop = true
    await Promise.all(clients)
    agent.destroy()
    // Before, a busy keep-alive connection was served on and on: the shutdown waited out the grace period and exited 1.
    assert.equal(code, 0, `exit code ${code} after ${took} ms`)
    assert.ok(took < 20_000, `shutdown took ${took} ms`)
    const stored = await eventually(
      'every acknowledged event stored',
      async () => new Set((await fleet.db.pool.query<{ uuid: string }>('SELECT uuid FROM events')).rows.map((r) => r.uuid)),
      (uuids) => acked.every((u) => uuids.has(u)),
    )
    assert.equal(acked.filter((u) => !stored.has(u)).length, 0)
  })
})
