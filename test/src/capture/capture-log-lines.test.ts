import assert from 'node:assert/strict'
import net from 'node:net'
import pino from 'pino'
import { Registry } from 'prom-client'
import type { EventBatcher } from '@plugin-server/core'
import { eventually } from '../harness/fleet'
import { createAdminUi } from '@plugin-server/admin-api'
import { createCaptureMetrics, startCaptureServer, TeamResolver } from '@plugin-server/capture-lib'

const OPTIONS = {
  host: '127.0.0.1',
  port: 0,
  maxBodyBytes: 20 * 1024 * 1024,
  enqueueTimeoutMs: 500,
  trustProxy: false,
  maxEventBytes: 1024 * 1024,
  rateLimitPerSecond: 0,
  rateLimitBurst: 0,
  maxInFlightBytes: 32 * 1024 * 1024,
  bodyTimeoutMs: 30_000,
}

type Mounted = NonNullable<Parameters<typeof startCaptureServer>[1]['mounted']>

/** A capture server whose every token is team 1 and whose queue answers with `add`; its log lines and metrics kept. */
async function start(add: EventBatcher['add'], options: Partial<typeof OPTIONS> = {}, mounted: Mounted = []) {
  const lines: string[] = []
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) })
  const teams: Pick<TeamResolver, 'teamId' | 'team'> = { teamId: async () => 1, team: async () => ({ id: 1, anonymizeIps: false }) }
  const batcher: Pick<EventBatcher, 'add'> = { add }
  const registry = new Registry()
  const server = await startCaptureServer(
    { ...OPTIONS, ...options },
    {
      teams: teams as TeamResolver,
      batcher: batcher as EventBatcher,
      metrics: createCaptureMetrics(registry),
      logger,
      mounted,
    },
  )
  return { lines, server, registry }
}

/** Writes `text` (a request asking to close the connection) on a new connection; resolves with all it is answered, or as it is once `hangUp` right after writing. */
function raw(port: number, text: string, hangUp = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(text)
      if (hangUp) socket.destroy()
    })
    let answer = ''
    socket.on('data', (chunk: Buffer) => void (answer += chunk.toString('latin1')))
    socket.on('close', () => resolve(answer))
    socket.on('error', (error) => (hangUp ? resolve(answer) : reject(error)))
  })
}

const requestsWithStatus = async (registry: Registry, status: string) =>
  (await registry.getSingleMetric('capture_requests_total')!.get()).values.find((v) => v.labels.status === status)?.value ?? 0

describe("capture's log lines", () => {
  it('writes one warning line for a request whatever number of its events have a bad timestamp, with the count and the first warning', async () => {
    const { lines, server } = await start(async () => undefined)
    try {
      const batch = Array.from({ length: 5000 }, (_, i) => ({ event: 'e', distinct_id: `d${i}`, timestamp: 'not a date', properties: {} }))
      const res = await fetch(`http://127.0.0.1:${server.port}/batch/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ api_key: 'phc_public', batch }),
      })
      assert.equal(res.status, 200)
      const warnings = lines.filter((l) => l.includes('capture warning')).map((l) => JSON.parse(l) as { warnings: number; warning: string })
      assert.equal(warnings.length, 1)
      assert.equal(warnings[0].warnings, 5000)
      assert.match(warnings[0].warning, /^event at index 0: ignored_invalid_timestamp/)
    } finally {
      await server.close()
    }
  })

  it("logs the path of a request it could not enqueue, never its query, which holds a GET capture's event", async () => {
    const { lines, server } = await start(() => Promise.reject(new Error('Connection is closed.')))
    try {
      const event = { event: '$pageview', api_key: 'phc_public', distinct_id: 'user-1', properties: { email: 'alice@example.com' } }
      const data = Buffer.from(JSON.stringify(event)).toString('base64')
      const res = await fetch(`http://127.0.0.1:${server.port}/e/?data=${encodeURIComponent(data)}&compression=base64`)
      assert.equal(res.status, 503)
      const failed = lines.filter((l) => l.includes('capture request failed'))
      assert.equal(failed.length, 1)
      assert.equal((JSON.parse(failed[0]) as { path: string }).path, '/e/')
      assert.ok(!failed[0].includes('data='), failed[0])
    } finally {
      await server.close()
    }
  })
})

describe("capture's request-wide fields, copied into each event", () => {
  it('carries sent_at on as the time it names, an X-Forwarded-For entry only when it is an address (its port taken off), and no origin longer than a site has', async () => {
    const queued: { events: number; bytes: number; sentAt: Set<string | null>; ip: Set<string | null>; siteUrl: Set<string> } = {
      events: 0,
      bytes: 0,
      sentAt: new Set(),
      ip: new Set(),
      siteUrl: new Set(),
    }
    const { server } = await start(
      async (events, sizes) => {
        queued.events += events.length
        events.forEach((e, i) => {
          queued.bytes += sizes?.[i] ?? 0
          queued.sentAt.add(e.sent_at)
          queued.ip.add(e.ip)
          queued.siteUrl.add(e.site_url)
        })
      },
      { trustProxy: true },
    )
    try {
      const post = (sentAt: string, headers: Record<string, string>) =>
        fetch(`http://127.0.0.1:${server.port}/batch/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({
            api_key: 'phc_public',
            sent_at: sentAt,
            batch: Array.from({ length: 200 }, (_, i) => ({ event: 'e', distinct_id: `d${i}` })),
          }),
        })
      // Each copy was under the per-event limit: 200 events of 900 KB queued from a body of 900 KB (or a 4 KB gzip one).
      const padded = await post('2024-05-01T12:00:00.000Z' + ' '.repeat(900_000), {
        'x-forwarded-for': 'x'.repeat(7_000),
        origin: `https://${'a'.repeat(7_000)}.example`,
      })
      assert.equal(padded.status, 200)
      assert.equal((await post('not a date', { 'x-forwarded-for': '203.0.113.9, 10.0.0.1', origin: 'https://app.example.com' })).status, 200)
      // A proxy that writes the client's port after its address (Azure's Application Gateway): the address, as PostHog strips the port.
      assert.equal((await post('not a date', { 'x-forwarded-for': '203.0.113.7:51234, 10.0.0.1', origin: 'https://app.example.com' })).status, 200)
      assert.equal((await post('not a date', { 'x-forwarded-for': '[2001:db8::1]:443', origin: 'https://app.example.com' })).status, 200)
      assert.equal(queued.events, 800)
      assert.deepEqual([...queued.sentAt], ['2024-05-01T12:00:00.000Z', null])
      assert.deepEqual([...queued.ip], ['127.0.0.1', '203.0.113.9', '203.0.113.7', '2001:db8::1'])
      assert.deepEqual([...queued.siteUrl], ['', 'https://app.example.com'])
      assert.ok(queued.bytes < 800 * 1024, `${queued.bytes} bytes queued for 800 small events`)
    } finally {
      await server.close()
    }
  })
})

describe("capture's answers to requests built to stall it or make it fail", () => {
  it('answers 404 to a target of 16 000 slashes then a letter, and 400 invalid_request to one URL cannot read, not 503 with an error line (the admin UI mounted, as on the capture port)', async () => {
    const { lines, server } = await start(async () => undefined, {}, [createAdminUi()])
    try {
      const slashes = await raw(server.port, `GET /e${'/'.repeat(16_000)}x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`)
      assert.match(slashes, /^HTTP\/1\.1 404 /)
      const absolute = await raw(server.port, 'GET http://a:99999/e HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
      assert.match(absolute, /^HTTP\/1\.1 400 /)
      assert.match(absolute, /"code":"invalid_request","detail":"the request target is not a valid URL"/)
      assert.deepEqual(
        lines.filter((l) => l.includes('"level":50')),
        [],
      )
    } finally {
      await server.close()
    }
  })

  it('counts a client that hangs up mid-body as a 408, with no error line: anyone could make those', async () => {
    const { lines, server, registry } = await start(async () => undefined)
    try {
      const head = 'POST /batch/ HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n'
      await raw(server.port, head + '{"api_key":"phc_public","batch":[', true)
      await eventually(
        'a 408 counted',
        () => requestsWithStatus(registry, '408'),
        (n) => n === 1,
        5_000,
      )
      assert.equal(await requestsWithStatus(registry, '503'), 0)
      assert.deepEqual(
        lines.filter((l) => l.includes('capture request failed')),
        [],
      )
    } finally {
      await server.close()
    }
  })

  it('answers 503 for a mounted handler (the admin API) that fails before answering, ends the connection of one that fails after, and goes on serving', async () => {
    const mounted: Mounted = [
      async (req, res) => {
        if (req.url === '/api/early') throw new Error('failed early')
        if (req.url !== '/api/late') return false
        res.writeHead(200, { 'Content-Type': 'text/plain' })
        res.write('partial')
        throw new Error('failed late')
      },
    ]
    const { lines, server } = await start(async () => undefined, {}, mounted)
    try {
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/api/early`)).status, 503)
      const late = await raw(server.port, 'GET /api/late HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
      assert.match(late, /^HTTP\/1\.1 200 /)
      assert.ok(!late.includes('HTTP/1.1 503'), 'one answer, not a second one after it')
      const ok = await fetch(`http://127.0.0.1:${server.port}/_health`)
      assert.equal(ok.status, 200)
      const failed = lines.filter((l) => l.includes('capture request failed')).map((l) => (JSON.parse(l) as { err: string }).err)
      assert.deepEqual(failed, ['failed early', 'failed late'])
    } finally {
      await server.close()
    }
  })
})
