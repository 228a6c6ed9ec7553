import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import { gzipSync } from 'node:zlib'
import { createIngestQueue } from '@plugin-server/core'
import { countEvents } from '@plugin-server/db'
import { LocalServer, startRedisServer } from '@plugin-server/dev-services'
import Redis from 'ioredis'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { FleetProcess } from '../harness/processes'

interface Answer {
  status: number
  retryAfter: string | null
  body: { code?: string; detail?: string; status?: number }
}

async function post(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${url}/batch/`, { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...headers } })
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Answer['body'] }
}

const batch = (token: string, label: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ api_key: token, batch: [{ event: label, distinct_id: 'u1', properties: { label, ...extra } }] })

const bytesInFlight = (metrics: string) => Number(/^capture_body_bytes_in_flight(?:\{[^}]*\})? (\d+)$/m.exec(metrics)?.[1])

/** The process's resident set at its highest so far (VmHWM): what a burst took, however briefly. */
function peakRssMb(proc: FleetProcess): number {
  const status = fs.readFileSync(`/proc/${proc.child.pid}/status`, 'utf8')
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]) / 1024
}

describe('capture under load it must refuse: bodies in flight and Redis away', function () {
  this.timeout(120_000)

  describe('CAPTURE_MAX_IN_FLIGHT_MB', () => {
    let fleet: TestFleet
    let capture: FleetProcess

    before(async () => {
      fleet = await createTestFleet({ CAPTURE_MAX_IN_FLIGHT_MB: '1' })
      capture = await fleet.start('capture')
      await fleet.start('ingest-worker')
    })
    after(async () => fleet.close())

    it('answers 503 overloaded with Retry-After while another request holds the budget, and stores the retry once it is answered', async () => {
      const token = fleet.team.api_token
      // A body of 1.5 MB (three events, each within CAPTURE_MAX_EVENT_BYTES), sent in part and held open.
      const event = { event: 'big', distinct_id: 'u1', properties: { padding: 'x'.repeat(500_000) } }
      const big = Buffer.from(JSON.stringify({ api_key: token, batch: [event, event, event] }))
      const held = http.request(`${fleet.captureUrl}/batch/`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': big.length } })
      const heldAnswer = new Promise<number>((resolve, reject) => {
        held.on('response', (res) => (res.resume(), resolve(res.statusCode ?? 0)))
        held.on('error', reject)
      })
      held.write(big.subarray(0, 1_200_000))
      await eventually(
        'the held body counted',
        async () => bytesInFlight(await capture.metrics()),
        (bytes) => bytes >= 1024 * 1024,
      )

      const refused = await post(fleet.captureUrl, batch(token, 'small'))
      assert.equal(refused.status, 503)
      assert.equal(refused.retryAfter, '1')
      assert.equal(refused.body.code, 'overloaded')
      assert.match(refused.body.detail ?? '', /CAPTURE_MAX_IN_FLIGHT_MB 1\.0\): retry later/)

      held.end(big.subarray(1_200_000))
      assert.equal(await heldAnswer, 200)
      assert.equal((await post(fleet.captureUrl, batch(token, 'small'))).status, 200)
      await eventually(
        'all four stored',
        () => countEvents(fleet.db.pool),
        (n) => n === 4,
      )
      assert.equal(bytesInFlight(await capture.metrics()), 0)
    })

    it('holds /flags and /decide bodies in the budget once inflated, as it holds events', async () => {
      const held = http.request(`${fleet.captureUrl}/batch/`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': 700_000 } })
      held.on('error', () => undefined)
      held.write(Buffer.alloc(600_000, 0x20))
      try {
        await eventually(
          'the held body counted',
          async () => bytesInFlight(await capture.metrics()),
          (bytes) => bytes >= 600_000,
        )
        // A few KB of gzip, 640 KB inflated: with the held body, past the 1 MB.
        const events = '{"event":"e","distinct_id":"d"},'.repeat(20_000).slice(0, -1)
        const body = gzipSync(`{"batch":[${events}],"token":"phc_nobody"}`)
        for (const path of ['/flags/?v=2', '/decide/?v=3']) {
          const res = await fetch(`${fleet.captureUrl}${path}`, {
            method: 'POST',
            body,
            headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
          })
          assert.equal(`${res.status} ${((await res.json()) as Answer['body']).code}`, '503 overloaded', path)
        }
      } finally {
        held.destroy()
      }
    })
  })

  describe('CAPTURE_BODY_TIMEOUT_MS', () => {
    let fleet: TestFleet
    let capture: FleetProcess

    before(async () => {
      fleet = await createTestFleet({ CAPTURE_BODY_TIMEOUT_MS: '2000' })
      capture = await fleet.start('capture')
    })
    after(async () => fleet.close())

    it('closes a request whose body is not all sent in time with 408, giving back the bytes it held', async () => {
      const held = http.request(`${fleet.captureUrl}/batch/`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': 2_000_000 } })
      let answer: number | string | undefined
      held.on('response', (res) => (res.resume(), (answer ??= res.statusCode ?? 0)))
      held.on('error', (err: NodeJS.ErrnoException) => (answer ??= err.code ?? err.message))
      held.write(Buffer.alloc(1_000_000, 0x20))
      await eventually(
        'the held body counted',
        async () => bytesInFlight(await capture.metrics()),
        (bytes) => bytes >= 1_000_000,
      )
      // Node's default gave it 5 minutes: what the wait allows here is far less.
      await eventually(
        'an answer',
        async () => answer,
        (a) => a !== undefined,
      )
      assert.equal(answer, 408)
      await eventually(
        'its bytes given back',
        async () => bytesInFlight(await capture.metrics()),
        (bytes) => bytes === 0,
      )
      assert.equal((await post(fleet.captureUrl, batch(fleet.team.api_token, 'after'))).status, 200)
    })
  })

  describe('gzip bodies that inflate to the body limit, for a token no team has', () => {
    let fleet: TestFleet
    let capture: FleetProcess

    before(async () => {
      fleet = await createTestFleet()
      capture = await fleet.start('capture')
    })
    after(async () => fleet.close())

    it('answers 16 sent at once 401 (or 503 while others hold the budget), its peak RSS within 400 MB of where it started', async () => {
      // 20 MB of two-field events in ~50 KB of gzip: 300 000 events each. The token last: named first, it is refused before inflating.
      const events = '{"event":"e","distinct_id":"d"},'.repeat(620_000).slice(0, -1)
      const bomb = gzipSync(`{"batch":[${events}],"api_key":"no-such-token"}`, { level: 9 })
      assert.ok(bomb.length < 100_000)
      const before = peakRssMb(capture)
      const answers = await Promise.all(Array.from({ length: 16 }, () => post(fleet.captureUrl, bomb, { 'Content-Encoding': 'gzip' })))
      for (const answer of answers) assert.ok(['401 invalid_token', '503 overloaded'].includes(`${answer.status} ${answer.body.code}`), JSON.stringify(answer))
      assert.ok(answers.some((a) => a.status === 401))
      const grew = peakRssMb(capture) - before
      assert.ok(grew < 400, `capture's peak RSS grew by ${grew.toFixed(0)} MB`)
      assert.equal((await post(fleet.captureUrl, batch(fleet.team.api_token, 'after'))).status, 200)
    })

    it("answers a team's small requests while two uploads of half the budget each are held open with no token", async () => {
      // 16 MiB each, under the 20 MB body limit; together all of CAPTURE_MAX_IN_FLIGHT_MB (32) but a few bytes.
      const size = 16 * 1024 * 1024
      const refused: number[] = []
      const uploads = [size - 1, size - 2].map((sent) => {
        const req = http.request(`${fleet.captureUrl}/batch/`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': size } })
        req.on('error', () => undefined)
        req.on('response', (res) => (res.resume(), refused.push(res.statusCode ?? 0)))
        req.write(Buffer.alloc(sent, 0x20))
        return req
      })
      try {
        await eventually(
          'one upload refused, or both held',
          async () => bytesInFlight(await capture.metrics()),
          (bytes) => refused.length > 0 || bytes > 30 * 1024 * 1024,
        )
        assert.deepEqual(refused, [503])
        for (let i = 0; i < 3; i++) assert.equal((await post(fleet.captureUrl, batch(fleet.team.api_token, `small-${i}`))).status, 200)
      } finally {
        for (const upload of uploads) upload.destroy()
      }
    })
  })

  describe('Redis away', () => {
    let redisServer: LocalServer
    let redisDir: string
    let fleet: TestFleet

    before(async () => {
      redisDir = fs.mkdtempSync('/tmp/ps-capture-redis-')
      redisServer = await startRedisServer({ dir: redisDir, appendOnly: true })
      fleet = await createTestFleet({ REDIS_URL: redisServer.url, CAPTURE_ENQUEUE_TIMEOUT_MS: '3000' })
      await fleet.start('capture')
    })
    after(async () => {
      await fleet.close()
      await redisServer.stop()
      fs.rmSync(redisDir, { recursive: true, force: true })
    })

    it('answers 503 without keeping the events, so what it refused is never queued later beside the client’s retry', async () => {
      const token = fleet.team.api_token
      assert.equal((await post(fleet.captureUrl, batch(token, 'before'))).status, 200)
      const port = redisServer.port
      await redisServer.stop()

      const refused = await Promise.all(Array.from({ length: 5 }, (_, i) => post(fleet.captureUrl, batch(token, `refused-${i}`))))
      assert.deepEqual(
        refused.map((a) => a.status),
        refused.map(() => 503),
      )

      redisServer = await startRedisServer({ port, dir: redisDir, appendOnly: true })
      await eventually(
        'capture takes events again',
        () => post(fleet.captureUrl, batch(token, 'after')),
        (a) => a.status === 200,
      )
      const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null })
      const queue = createIngestQueue(redis, { queuePrefix: fleet.env.QUEUE_PREFIX, ingest: { attempts: 1 } })
      try {
        const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed'])
        const labels = jobs.flatMap((job) => job.data.events.map((e) => e.event))
        assert.deepEqual(labels.sort(), ['after', 'before'])
      } finally {
        await queue.close()
        redis.disconnect()
      }
      // The cause is in capture's log, not in an answer to anyone on the internet.
      for (const answer of refused) assert.equal(answer.body.detail, 'events were not stored, retry later')
    })
  })
  describe('Redis stalled (paused, not gone)', () => {
    let redisServer: LocalServer
    let redisDir: string
    let fleet: TestFleet
    let redisPid = 0

    before(async () => {
      redisDir = fs.mkdtempSync('/tmp/ps-capture-redis-')
      redisServer = await startRedisServer({ dir: redisDir })
      const redis = new Redis(redisServer.url)
      redisPid = Number(/^process_id:(\d+)/m.exec(await redis.info('server'))![1])
      redis.disconnect()
      fleet = await createTestFleet({ REDIS_URL: redisServer.url, CAPTURE_ENQUEUE_TIMEOUT_MS: '1000', CAPTURE_MAX_IN_FLIGHT_MB: '1' })
      await fleet.start('capture')
    })
    after(async () => {
      if (redisPid > 0) process.kill(redisPid, 'SIGCONT')
      await fleet?.close()
      await redisServer.stop()
      fs.rmSync(redisDir, { recursive: true, force: true })
    })

    it('keeps at most CAPTURE_MAX_IN_FLIGHT_MB of events Redis has not acknowledged, refusing more at once with 503 overloaded, and takes events again once it answers', async () => {
      const token = fleet.team.api_token
      assert.equal((await post(fleet.captureUrl, batch(token, 'before'))).status, 200)
      process.kill(redisPid, 'SIGSTOP')
      // 200 KB requests: each add waits past CAPTURE_ENQUEUE_TIMEOUT_MS (503) and its events stay in the connection's queue.
      const padding = 'x'.repeat(200_000)
      const answers: Answer[] = []
      for (let i = 0; i < 12 && !answers.some((a) => a.body.code === 'overloaded'); i++)
        answers.push(await post(fleet.captureUrl, batch(token, `stalled-${i}`, { padding })))
      const overloaded = answers.at(-1)!
      assert.equal(overloaded.status, 503, JSON.stringify(answers.map((a) => a.body)))
      assert.equal(overloaded.body.code, 'overloaded', 'refused for the backlog, within 1 MB of 200 KB requests')
      assert.match(
        overloaded.body.detail!,
        /^the ingest queue has not acknowledged \d+\.\d MB of events this process sent it \(CAPTURE_MAX_IN_FLIGHT_MB 1\.0\): retry later$/,
      )
      assert.ok(answers.length <= 7, `${answers.length} requests before the refusal`)
      const started = Date.now()
      const again = await post(fleet.captureUrl, batch(token, 'refused at once', { padding }))
      assert.equal(again.body.code, 'overloaded')
      assert.ok(Date.now() - started < 1000, 'refused without waiting for the enqueue timeout')
      process.kill(redisPid, 'SIGCONT')
      await eventually(
        'capture takes events again',
        () => post(fleet.captureUrl, batch(token, 'after')),
        (a) => a.status === 200,
      )
    })
  })
})
