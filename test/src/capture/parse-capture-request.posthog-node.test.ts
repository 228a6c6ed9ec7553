import assert from 'node:assert/strict'
import http from 'node:http'
import { AddressInfo } from 'node:net'

import { CaptureRequest, parseCaptureRequest } from '@plugin-server/capture-lib'
import { PostHog } from 'posthog-node'

import { UUID_V4_RE } from './capture-request-fixture'

interface RecordedRequest {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  body: Buffer
}

/** Run the real posthog-node client against a local server and return the raw requests it made. */
async function recordPosthogNode(drive: (client: PostHog) => void): Promise<RecordedRequest[]> {
  const recorded: RecordedRequest[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      recorded.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) })
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"status":1}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const { port } = server.address() as AddressInfo
    const client = new PostHog('phc_node_token', { host: `http://127.0.0.1:${port}`, flushAt: 100, flushInterval: 0, fetchRetryCount: 0 })
    drive(client)
    await client.shutdown()
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return recorded
}

function toCaptureRequest(rec: RecordedRequest, now: Date): CaptureRequest {
  const url = new URL(rec.url, 'http://capture.local')
  return {
    method: rec.method,
    path: url.pathname,
    query: url.searchParams,
    rawQuery: url.search.slice(1),
    headers: rec.headers,
    body: rec.body,
    ip: '127.0.0.1',
    now,
  }
}

describe('parseCaptureRequest with a real posthog-node 5.x payload', () => {
  let recorded: RecordedRequest[]
  before(async () => {
    recorded = await recordPosthogNode((client) => {
      client.capture({ distinctId: 'user-1', event: 'signed up', properties: { plan: 'pro', $set: { email: 'a@example.com' } } })
      client.capture({ distinctId: 'user-1', event: 'backfilled', timestamp: new Date('2024-01-01T00:00:00.000Z') })
      client.identify({ distinctId: 'user-1', properties: { name: 'Ada' } })
      client.alias({ distinctId: 'user-1', alias: 'anon-1' })
    })
  })

  it('sends one gzip-compressed POST to /batch/', () => {
    const batches = recorded.filter((r) => r.url.startsWith('/batch'))
    assert.equal(batches.length, 1, `requests: ${recorded.map((r) => r.url).join(', ')}`)
    assert.equal(batches[0].method, 'POST')
    assert.equal(batches[0].headers['content-encoding'], 'gzip')
  })

  it('parses into the token and all four events with their fields', () => {
    const rec = recorded.find((r) => r.url.startsWith('/batch'))
    assert.ok(rec)
    const now = new Date()
    const parsed = parseCaptureRequest(toCaptureRequest(rec, now), { maxBodyBytes: 1024 * 1024 })

    assert.equal(parsed.token, 'phc_node_token')
    assert.deepEqual(parsed.warnings, [])
    assert.deepEqual(
      parsed.events.map((e) => e.event),
      ['signed up', 'backfilled', '$identify', '$create_alias'],
    )
    for (const e of parsed.events) {
      assert.equal(e.distinct_id, 'user-1')
      // posthog-node generates uuid v7; it must be kept, not replaced by our v4.
      assert.match(e.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/)
      assert.doesNotMatch(e.uuid, UUID_V4_RE)
      assert.equal(e.properties.$lib, 'posthog-node')
      assert.equal(e.ip, '127.0.0.1')
      assert.equal(e.site_url, '')
      assert.equal(e.now, now.toISOString())
      assert.ok(e.sent_at !== null && !Number.isNaN(Date.parse(e.sent_at)))
    }

    const [signedUp, backfilled, identify, alias] = parsed.events
    assert.deepEqual(signedUp.properties.$set, { email: 'a@example.com' })
    assert.equal(signedUp.properties.plan, 'pro')
    assert.deepEqual(identify.properties.$set, { name: 'Ada' })
    assert.equal(alias.properties.alias, 'anon-1')

    // Live events: timestamp ≈ sent_at, so after skew correction they land within a second of now.
    assert.ok(Math.abs(Date.parse(signedUp.timestamp) - now.getTime()) < 1000, signedUp.timestamp)
    // A backfilled event keeps its distance from sent_at.
    const sentAt = Date.parse(backfilled.sent_at ?? '')
    const expected = now.getTime() + (Date.parse('2024-01-01T00:00:00.000Z') - sentAt)
    assert.equal(Date.parse(backfilled.timestamp), expected)
  })

  it('rejects the same payload with 413 when the decompressed body exceeds the limit', () => {
    const rec = recorded.find((r) => r.url.startsWith('/batch'))
    assert.ok(rec)
    assert.throws(
      () => parseCaptureRequest(toCaptureRequest(rec, new Date()), { maxBodyBytes: rec.body.length + 1 }),
      (err: unknown) => err instanceof Error && 'status' in err && err.status === 413,
    )
  })
})
