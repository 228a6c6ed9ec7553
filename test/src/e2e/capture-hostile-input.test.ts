import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'
import { countEvents, createTeam } from '@plugin-server/db'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'

/** A small deterministic generator, so a failing payload can be found again. */
function prng(seed: number): () => number {
  return () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
}

interface Bad {
  kind: string
  path: string
  body: Buffer
  headers: Record<string, string>
}

function badPayloads(token: string, count: number): Bad[] {
  const random = prng(42)
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]
  const json = (value: unknown) => Buffer.from(JSON.stringify(value))
  const event = (extra: Record<string, unknown> = {}) => ({ event: 'e', distinct_id: 'd', properties: { a: 1 }, ...extra })
  // Built as text: serialising it would overflow this process's stack long before the server's limit matters.
  const nestedJson = (depth: number) => {
    const opens = Array.from({ length: depth }, () => (random() < 0.5 ? '{"k":' : '['))
    return (
      opens.join('') +
      '"leaf"' +
      opens
        .reverse()
        .map((o) => (o === '[' ? ']' : '}'))
        .join('')
    )
  }
  const makers: Record<string, () => Omit<Bad, 'kind'>> = {
    'truncated gzip': () => {
      const full = gzipSync(json({ api_key: token, batch: [event(), event()] }))
      return { path: '/batch', body: full.subarray(0, 1 + Math.floor(random() * (full.length - 2))), headers: { 'Content-Encoding': 'gzip' } }
    },
    'invalid base64': () => ({
      path: '/e',
      body: Buffer.from(`data=${Array.from({ length: 1 + Math.floor(random() * 60) }, () => pick([...'!@#$%^&*(){}<>?|~`\'";:'])).join('')}`),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    }),
    'base64 of garbage': () => ({
      path: '/e',
      body: Buffer.from(`data=${encodeURIComponent(Buffer.from(Array.from({ length: 40 }, () => Math.floor(random() * 256))).toString('base64'))}`),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    }),
    'deeply nested JSON': () => ({
      path: '/batch',
      body: Buffer.from(
        // A numeric id above 2^53 has the body read again with a reviver, which recurses.
        `{"api_key":"${token}","batch":[{"event":"e","distinct_id":${random() < 0.5 ? '"d"' : '12345678901234567890'},"properties":{"deep":${nestedJson(65 + Math.floor(random() * 20_000))}}}]}`,
      ),
      headers: {},
    }),
    'non-object properties': () => ({
      path: '/capture',
      body: json({ api_key: token, ...event({ properties: pick(['text', 42, [1, 2], true]) }) }),
      headers: {},
    }),
    'invalid UTF-8': () => ({
      path: '/batch',
      body: Buffer.concat([
        Buffer.from(`{"api_key":"${token}","batch":[{"event":"e","distinct_id":"d","properties":{"x":"`),
        Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
        Buffer.from('"}}]}'),
      ]),
      headers: {},
    }),
    'random bytes': () => ({
      path: pick(['/batch', '/e', '/i/v0/e']),
      body: Buffer.from(Array.from({ length: 1 + Math.floor(random() * 500) }, () => Math.floor(random() * 256))),
      headers: {},
    }),
    'truncated JSON': () => {
      const full = JSON.stringify({ api_key: token, batch: [event(), event()] })
      return { path: '/batch', body: Buffer.from(full.slice(0, Math.floor(random() * (full.length - 1)))), headers: {} }
    },
    'events without names or ids': () => ({
      path: '/batch',
      body: json({ api_key: token, batch: [pick([{ distinct_id: 'd' }, { event: 'e' }, { event: 'e', distinct_id: 'd', uuid: 'not-a-uuid' }, 'text', null])] }),
      headers: {},
    }),
    'unsupported encoding': () => ({
      path: '/batch',
      body: json({ api_key: token, batch: [event()] }),
      headers: { 'Content-Encoding': pick(['br', 'deflate', 'zstd']) },
    }),
  }
  const kinds = Object.keys(makers)
  return Array.from({ length: count }, (_, i) => ({ kind: kinds[i % kinds.length], ...makers[kinds[i % kinds.length]]() }))
}

describe('capture under hostile input', function () {
  this.timeout(300_000)
  let fleet: TestFleet

  before(async () => {
    fleet = await createTestFleet({ CAPTURE_RATE_LIMIT_PER_SECOND: '0' })
    await fleet.start('capture')
    await fleet.start('ingest-worker')
  })
  after(async () => fleet.close())

  const post = async (path: string, body: Buffer, headers: Record<string, string> = {}) => {
    const res = await fetch(`${fleet.captureUrl}${path}`, { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...headers } })
    return { status: res.status, body: (await res.json()) as { code: string; detail: string } }
  }

  it('answers each of 3 000 generated bad payloads with a 4xx naming the problem, then still takes good events', async () => {
    const payloads = badPayloads(fleet.team.api_token, 3000)
    const wrong: string[] = []
    const codes = new Map<string, Set<string>>()
    let next = 0
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < payloads.length) {
          const bad = payloads[next++]
          const answer = await post(bad.path, bad.body, bad.headers)
          if (answer.status < 400 || answer.status >= 500 || !answer.body.detail) wrong.push(`${bad.kind}: ${answer.status} ${JSON.stringify(answer.body)}`)
          codes.set(bad.kind, (codes.get(bad.kind) ?? new Set()).add(answer.body.code))
        }
      }),
    )
    assert.deepEqual(wrong.slice(0, 10), [])
    assert.deepEqual([...codes.get('deeply nested JSON')!], ['too_deep'])
    assert.deepEqual([...codes.get('invalid UTF-8')!], ['invalid_utf8'])
    assert.deepEqual([...codes.get('truncated gzip')!], ['invalid_payload'])

    const big = await post(
      '/batch',
      Buffer.from(
        JSON.stringify({ api_key: fleet.team.api_token, batch: [{ event: 'e', distinct_id: 'd', properties: { blob: 'x'.repeat(10 * 1024 * 1024) } }] }),
      ),
    )
    assert.equal(big.status, 413)
    assert.equal(big.body.code, 'event_too_large')
    assert.match(big.body.detail, /event at index 0 is \d+ bytes, over the 1048576 byte limit per event/)

    assert.equal((await fetch(`${fleet.captureUrl}/_health`)).status, 200)
    const good = Array.from({ length: 50 }, (_, i) => ({ event: 'good', distinct_id: `u${i}`, properties: { i } }))
    assert.equal((await post('/batch', Buffer.from(JSON.stringify({ api_key: fleet.team.api_token, batch: good })))).status, 200)
    await eventually(
      'good events stored',
      () => countEvents(fleet.db.pool),
      (n) => n === 50,
    )
  })
})

describe('capture rate limit per API token', function () {
  this.timeout(60_000)
  let fleet: TestFleet
  before(async () => {
    fleet = await createTestFleet({ CAPTURE_RATE_LIMIT_PER_SECOND: '5', CAPTURE_RATE_LIMIT_BURST: '20' })
    await fleet.start('capture')
  })
  after(async () => fleet.close())

  it('answers 429 with Retry-After once a project sends more than its share, and lets it through again later', async () => {
    const batch = (n: number) => JSON.stringify({ api_key: fleet.team.api_token, batch: Array.from({ length: n }, () => ({ event: 'e', distinct_id: 'd' })) })
    assert.equal((await fetch(`${fleet.captureUrl}/batch`, { method: 'POST', body: batch(20) })).status, 200)
    const limited = await fetch(`${fleet.captureUrl}/batch`, { method: 'POST', body: batch(5) })
    assert.equal(limited.status, 429)
    assert.equal(limited.headers.get('retry-after'), '1')
    const body = (await limited.json()) as { code: string; detail: string }
    assert.equal(body.code, 'rate_limited')
    assert.match(body.detail, /more than 5 events per second/)
    await new Promise((r) => setTimeout(r, 1200))
    assert.equal((await fetch(`${fleet.captureUrl}/batch`, { method: 'POST', body: batch(5) })).status, 200)
  })

  it('does not charge a request it refused after taking its events: the events of a 413 are given back', async () => {
    // Another team's bucket, full: the test above spent the first team's.
    const team = await createTeam(fleet.db.pool, 'rate limit refund')
    const events = (n: number, big = false) =>
      Array.from({ length: n }, (_, i) => ({ event: 'e', distinct_id: 'd', properties: big && i === 0 ? { blob: 'x'.repeat(1_100_000) } : {} }))
    const post = (batch: unknown[]) => fetch(`${fleet.captureUrl}/batch`, { method: 'POST', body: JSON.stringify({ api_key: team.api_token, batch }) })
    assert.equal((await post(events(20, true))).status, 413)
    assert.equal((await post(events(20))).status, 200, 'the whole burst is still there')
    assert.equal((await post(events(1))).status, 429, 'and now it is spent')
  })
})
