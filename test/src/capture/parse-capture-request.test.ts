import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'

import { CaptureLimits, normalizeEvent } from '@plugin-server/capture-lib'

import { assertRejects, gzipJson, jsonRequest, LIMITS, NOW, parse, request, TOKEN, UUID_V4_RE } from './capture-request-fixture'

const ev = (extra: Record<string, unknown> = {}) => ({ event: 'clicked', distinct_id: 'user-1', ...extra })

describe('parseCaptureRequest', () => {
  describe('body shapes', () => {
    it('accepts a single event object (/capture)', () => {
      const parsed = parse(jsonRequest({ ...ev({ properties: { a: 1 } }), api_key: TOKEN }, { url: '/capture/' }))
      assert.equal(parsed.token, TOKEN)
      assert.equal(parsed.events.length, 1)
      const [e] = parsed.events
      assert.equal(e.event, 'clicked')
      assert.equal(e.distinct_id, 'user-1')
      assert.deepEqual(e.properties, { a: 1 })
      assert.equal(e.now, NOW.toISOString())
      assert.equal(e.timestamp, NOW.toISOString())
      assert.equal(e.sent_at, null)
      assert.equal(e.ip, '203.0.113.7')
      assert.deepEqual(parsed.warnings, [])
      assert.equal(parsed.historicalMigration, false)
    })

    it('accepts an array of events and keeps their order', () => {
      const parsed = parse(jsonRequest([ev({ event: 'a', token: TOKEN }), ev({ event: 'b' }), ev({ event: 'c' })]))
      assert.deepEqual(
        parsed.events.map((e) => e.event),
        ['a', 'b', 'c'],
      )
      assert.equal(parsed.token, TOKEN)
    })

    it('accepts {batch: [...]} with api_key and sent_at', () => {
      const parsed = parse(jsonRequest({ api_key: TOKEN, batch: [ev(), ev()], sent_at: NOW.toISOString() }, { url: '/batch/' }))
      assert.equal(parsed.events.length, 2)
      assert.equal(parsed.events[0].sent_at, NOW.toISOString())
    })

    it('accepts {data: [...]} and {data: {...}} wrappers', () => {
      assert.equal(parse(jsonRequest({ api_key: TOKEN, data: [ev(), ev()] })).events.length, 2)
      const single = parse(jsonRequest({ token: TOKEN, data: ev({ event: 'solo' }) }))
      assert.deepEqual(
        single.events.map((e) => e.event),
        ['solo'],
      )
    })

    it('treats an event that happens to have a "data" field as an event, not a wrapper', () => {
      const parsed = parse(jsonRequest({ ...ev(), data: 'x', token: TOKEN }))
      assert.equal(parsed.events[0].event, 'clicked')
    })

    it('reports historical_migration from posthog-node batches', () => {
      const parsed = parse(jsonRequest({ api_key: TOKEN, historical_migration: true, batch: [ev()] }))
      assert.equal(parsed.historicalMigration, true)
    })

    it('lifts top-level $set / $set_once and leaves properties.$set alone', () => {
      const parsed = parse(
        jsonRequest({
          ...ev({ $set: { email: 'a@b.c' }, $set_once: { first: 1 }, properties: { $set: { plan: 'pro' } } }),
          api_key: TOKEN,
        }),
      )
      const [e] = parsed.events
      assert.deepEqual(e.set, { email: 'a@b.c' })
      assert.deepEqual(e.set_once, { first: 1 })
      assert.deepEqual(e.properties.$set, { plan: 'pro' })
      const plain = parse(jsonRequest({ ...ev(), api_key: TOKEN })).events[0]
      assert.equal('set' in plain, false)
      assert.equal('set_once' in plain, false)
    })

    it('stores an /engage body without an event name (posthog-js people.set) as $identify, and keeps a name it has', () => {
      const people = { $set: { email: 'a@b.c' }, $token: TOKEN, $distinct_id: 'engage-user' }
      const [e] = parse(jsonRequest(people, { url: '/engage/' })).events
      assert.equal(e.event, '$identify')
      assert.equal(e.distinct_id, 'engage-user')
      assert.deepEqual(e.set, { email: 'a@b.c' })
      assert.equal(parse(jsonRequest({ ...people, event: '$set' }, { url: '/engage/' })).events[0].event, '$set')
      assertRejects(jsonRequest(people, { url: '/e/' }), 400, 'missing_event_name', 'event at index 0 has no "event" name')
    })

    it('does not mutate the raw event it was given', () => {
      const raw = { event: 'e', distinct_id: 'u', properties: { a: 1 } }
      const ctx = { now: NOW, batchSentAt: undefined, ip: null, headers: {} }
      const { event } = normalizeEvent(raw, 0, ctx)
      event.properties.b = 2
      assert.deepEqual(raw.properties, { a: 1 })
    })
  })

  describe('encodings', () => {
    const batch = { api_key: TOKEN, batch: [ev()], sent_at: NOW.toISOString() }

    it('gunzips a Content-Encoding: gzip body (posthog-node 5.x)', () => {
      const parsed = parse(request({ url: '/batch/', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipJson(batch) }))
      assert.equal(parsed.token, TOKEN)
      assert.equal(parsed.events[0].event, 'clicked')
    })

    it('accepts the x-gzip and identity content encodings', () => {
      const gz = request({ headers: { 'content-encoding': 'x-gzip' }, body: gzipJson(batch) })
      assert.equal(parse(gz).events.length, 1)
      const id = jsonRequest(batch, { headers: { 'content-encoding': 'identity' } })
      assert.equal(parse(id).events.length, 1)
    })

    it('gunzips a posthog-js ?compression=gzip-js body sent as text/plain', () => {
      const body = gzipJson([ev({ properties: { token: TOKEN, $current_url: 'https://app.example.com/x' } })])
      const parsed = parse(request({ url: '/e/?compression=gzip-js&ip=1&_=1714564800000&ver=1.100.0', headers: { 'content-type': 'text/plain' }, body }))
      assert.equal(parsed.token, TOKEN)
      assert.equal(parsed.events[0].site_url, 'https://app.example.com')
    })

    it('detects gzip by its magic bytes when no hint was sent', () => {
      const parsed = parse(request({ headers: {}, body: gzipJson(batch) }))
      assert.equal(parsed.events.length, 1)
    })

    it('decodes a form body data=<base64> (posthog-js compression=base64)', () => {
      const b64 = Buffer.from(JSON.stringify([ev({ properties: { token: TOKEN } })])).toString('base64')
      const parsed = parse(
        request({
          url: '/e/?compression=base64',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: Buffer.from(`data=${encodeURIComponent(b64)}`),
        }),
      )
      assert.equal(parsed.token, TOKEN)
      assert.equal(parsed.events[0].distinct_id, 'user-1')
    })

    it('reads compression from a form field', () => {
      const b64 = Buffer.from(JSON.stringify(ev({ token: TOKEN }))).toString('base64')
      const body = Buffer.from(`data=${encodeURIComponent(b64)}&compression=base64`)
      const parsed = parse(request({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }))
      assert.equal(parsed.events[0].event, 'clicked')
    })

    it('restores "+" signs that form decoding turned into spaces in base64 data', () => {
      // '>>>' encodes to 'Pj4+' — the '+' must survive even when the client did not escape it.
      const payload = { ...ev({ properties: { s: '>>>?' } }), api_key: TOKEN }
      const b64 = Buffer.from(JSON.stringify(payload)).toString('base64')
      assert.ok(b64.includes('+'), 'fixture must contain a + sign')
      const parsed = parse(request({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(`data=${b64}`) }))
      assert.equal(parsed.events[0].properties.s, '>>>?')
    })

    it('decodes a form body data=<urlencoded JSON>', () => {
      const body = Buffer.from(`data=${encodeURIComponent(JSON.stringify({ ...ev(), api_key: TOKEN }))}`)
      const parsed = parse(request({ headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' }, body }))
      assert.equal(parsed.events[0].distinct_id, 'user-1')
    })

    it('refuses percent-encoded invalid UTF-8 in a form or query data= with 400 invalid_utf8, and decodes valid escapes', () => {
      const json = (s: string) => encodeURIComponent(JSON.stringify({ ...ev(), api_key: TOKEN, properties: { s: '@' } })).replace('%40', s)
      const form = { 'content-type': 'application/x-www-form-urlencoded' }
      assertRejects(request({ headers: form, body: Buffer.from(`data=${json('a%FF%FEb')}`) }), 400, 'invalid_utf8', 'not valid UTF-8')
      assertRejects(request({ method: 'GET', url: `/e/?ip=1&data=${json('x%FFy')}`, headers: {} }), 400, 'invalid_utf8', 'not valid UTF-8')
      assertRejects(
        request({ headers: form, body: Buffer.concat([Buffer.from(`data=${json('a')}`), Buffer.from([0xff])]) }),
        400,
        'invalid_utf8',
        'not valid UTF-8',
      )
      assert.equal(parse(request({ headers: form, body: Buffer.from(`data=${json('%C3%A9+')}`) })).events[0].properties.s, 'é ')
      assert.equal(parse(request({ method: 'GET', url: `/e/?data=${json('%C3%A9')}`, headers: {} })).events[0].properties.s, 'é')
    })

    it('decodes data= bodies posted with a text/plain content type', () => {
      const body = Buffer.from(`data=${encodeURIComponent(JSON.stringify({ ...ev(), api_key: TOKEN }))}`)
      assert.equal(parse(request({ headers: { 'content-type': 'text/plain' }, body })).events.length, 1)
    })

    it('decodes GET /e?data=<base64> (old posthog-js)', () => {
      const b64 = Buffer.from(JSON.stringify({ ...ev(), properties: { token: TOKEN } })).toString('base64')
      const parsed = parse(request({ method: 'GET', url: `/e/?data=${encodeURIComponent(b64)}&ip=1`, headers: {} }))
      assert.equal(parsed.token, TOKEN)
      assert.equal(parsed.events[0].event, 'clicked')
    })

    it('decodes GET /e?data=<urlencoded JSON>', () => {
      const json = JSON.stringify({ ...ev(), api_key: TOKEN })
      const parsed = parse(request({ method: 'GET', url: `/e?data=${encodeURIComponent(json)}`, headers: {} }))
      assert.equal(parsed.events.length, 1)
    })

    it('decodes a raw base64 body flagged with ?compression=base64', () => {
      const body = Buffer.from(Buffer.from(JSON.stringify([ev({ token: TOKEN })])).toString('base64'))
      assert.equal(parse(request({ url: '/e/?compression=base64', headers: { 'content-type': 'text/plain' }, body })).events.length, 1)
    })

    it('decodes base64 of gzipped JSON in a data field', () => {
      const b64 = gzipJson({ ...ev(), api_key: TOKEN }).toString('base64')
      const body = Buffer.from(`data=${encodeURIComponent(b64)}`)
      assert.equal(parse(request({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })).events.length, 1)
    })
  })

  describe('token', () => {
    it('takes api_key or token from a batch wrapper', () => {
      assert.equal(parse(jsonRequest({ api_key: 'phc_a', batch: [ev()] })).token, 'phc_a')
      assert.equal(parse(jsonRequest({ token: 'phc_b', batch: [ev()] })).token, 'phc_b')
    })

    it('takes ?token= or ?api_key= from the query string', () => {
      assert.equal(parse(jsonRequest([ev()], { url: '/e/?token=phc_q' })).token, 'phc_q')
      assert.equal(parse(jsonRequest([ev()], { url: '/e/?api_key=phc_k' })).token, 'phc_k')
    })

    it('takes token, $token or api_key from the event, then properties.token', () => {
      assert.equal(parse(jsonRequest(ev({ token: 'phc_1' }))).token, 'phc_1')
      assert.equal(parse(jsonRequest(ev({ $token: 'phc_2' }))).token, 'phc_2')
      assert.equal(parse(jsonRequest(ev({ api_key: 'phc_3' }))).token, 'phc_3')
      assert.equal(parse(jsonRequest(ev({ properties: { token: 'phc_4' } }))).token, 'phc_4')
    })

    it('prefers the body wrapper over the query, and the query over events', () => {
      assert.equal(parse(jsonRequest({ api_key: 'phc_body', batch: [ev({ token: 'phc_event' })] }, { url: '/batch?token=phc_query' })).token, 'phc_body')
      assert.equal(parse(jsonRequest([ev({ properties: { token: 'phc_event' } })], { url: '/e?token=phc_query' })).token, 'phc_query')
    })

    it('accepts events that agree on a token, and events without one alongside them', () => {
      const parsed = parse(jsonRequest([ev({ properties: { token: 'phc_x' } }), ev(), ev({ token: 'phc_x' })]))
      assert.equal(parsed.token, 'phc_x')
      assert.equal(parsed.events.length, 3)
    })

    it('trims surrounding whitespace from a token', () => {
      assert.equal(parse(jsonRequest({ api_key: ' phc_ws\n', batch: [ev()] })).token, 'phc_ws')
    })

    it('rejects events that carry different tokens with 400 naming the index', () => {
      const req = jsonRequest([ev({ token: 'phc_a' }), ev(), ev({ properties: { token: 'phc_b' } })])
      const err = assertRejects(req, 400, 'multiple_tokens', 'event at index 2 does not match event at index 0')
      assert.equal(err.attr, 'token')
    })

    it('rejects a request without a token with 401', () => {
      const err = assertRejects(jsonRequest([ev()]), 401, 'missing_token', 'missing api token')
      assert.equal(err.toBody().type, 'authentication_error')
    })

    it('treats an empty token as missing', () => {
      assertRejects(jsonRequest({ api_key: '', batch: [ev()] }), 401, 'missing_token', 'missing api token')
      assertRejects(jsonRequest([ev()], { url: '/e?token=' }), 401, 'missing_token', 'missing api token')
    })

    it('rejects personal API keys, over-long, non-ASCII and non-string tokens with 401', () => {
      assertRejects(jsonRequest({ api_key: 'phx_secret', batch: [ev()] }), 401, 'invalid_token', 'personal API key')
      assertRejects(jsonRequest({ api_key: 'x'.repeat(65), batch: [ev()] }), 401, 'invalid_token', 'longer than 64 characters')
      assertRejects(jsonRequest(ev({ token: 'phc_é' })), 401, 'invalid_token', 'invalid api token in event at index 0: must be ASCII')
      assertRejects(jsonRequest({ api_key: 'phc_a\u0000b', batch: [ev()] }), 401, 'invalid_token', 'without null bytes')
      assertRejects(jsonRequest({ api_key: 42, batch: [ev()] }), 401, 'invalid_token', 'invalid api token in body: not a string')
    })
  })

  describe('distinct_id', () => {
    const one = (event: Record<string, unknown>) => parse(jsonRequest({ event: 'e', api_key: TOKEN, ...event })).events[0].distinct_id

    it('uses top-level distinct_id, then $distinct_id, then properties.distinct_id, then properties.$distinct_id', () => {
      assert.equal(one({ distinct_id: 'top', $distinct_id: 'x', properties: { distinct_id: 'p', $distinct_id: 'q' } }), 'top')
      assert.equal(one({ $distinct_id: 'dollar', properties: { distinct_id: 'p' } }), 'dollar')
      assert.equal(one({ properties: { distinct_id: 'prop', $distinct_id: 'q' } }), 'prop')
      assert.equal(one({ properties: { $distinct_id: 'js' } }), 'js')
      assert.equal(one({ distinct_id: null, properties: { distinct_id: 'fallback' } }), 'fallback')
    })

    it('cuts an id to 200 characters, counting a character outside the BMP as one and never splitting it, whatever its length', () => {
      const astral = '\u{1F600}'
      assert.equal(one({ distinct_id: astral.repeat(300) }), astral.repeat(200))
      assert.equal(one({ distinct_id: 'a' + astral.repeat(300) }), 'a' + astral.repeat(199))
      assert.equal(one({ distinct_id: 'x'.repeat(60_000) }), 'x'.repeat(200))
      assert.equal(one({ distinct_id: '\0'.repeat(300) }), '\uFFFD'.repeat(200))
    })

    it('stringifies non-string ids like PostHog', () => {
      assert.equal(one({ distinct_id: 23 }), '23')
      assert.equal(one({ distinct_id: 23.4 }), '23.4')
      assert.equal(one({ distinct_id: ['a', 'b'] }), '["a","b"]')
    })

    it('keeps every digit of a numeric id above 2^53, top-level or in properties, so two users stay two', () => {
      const body = `{"api_key":"${TOKEN}","batch":[{"event":"e","distinct_id":1234567890123456789},{"event":"e","distinct_id":1234567890123456788},{"event":"e","properties":{"$distinct_id":-98765432109876543210,"n":98765432109876543210}}]}`
      const parsed = parse(request({ body: Buffer.from(body) }))
      assert.deepEqual(
        parsed.events.map((e) => e.distinct_id),
        ['1234567890123456789', '1234567890123456788', '-98765432109876543210'],
      )
      assert.equal(typeof parsed.events[2].properties.n, 'number', 'other numbers stay numbers')
    })

    it('refuses with 400 too_deep a body nested thousands of levels deep whose numeric id is above 2^53, instead of a RangeError (a 503 clients retry)', () => {
      const deep = '['.repeat(5000) + '1' + ']'.repeat(5000)
      for (const [where, body] of [
        ['in the event', `{"api_key":"${TOKEN}","batch":[{"event":"e","distinct_id":1234567890123456789,"properties":{"deep":${deep}}}]}`],
        ['beside the events', `{"api_key":"${TOKEN}","junk":${deep},"batch":[{"event":"e","distinct_id":1234567890123456789}]}`],
      ]) {
        const err = assertRejects(
          request({ body: Buffer.from(body) }),
          400,
          'too_deep',
          /^the body is nested too deeply to be read \(events may nest 64 levels\)$/,
        )
        assert.equal(err.status, 400, where)
      }
    })

    it('truncates to 200 characters and replaces NUL bytes', () => {
      assert.equal(one({ distinct_id: 'a'.repeat(250) }), 'a'.repeat(200))
      assert.equal(one({ distinct_id: 'a\u0000b' }), 'a\uFFFDb')
    })

    it('rejects a missing or empty distinct_id with 400 naming the event index', () => {
      const err = assertRejects(
        jsonRequest({ api_key: TOKEN, batch: [ev(), { event: 'e', properties: {} }] }),
        400,
        'missing_distinct_id',
        'event at index 1 has no distinct_id',
      )
      assert.equal(err.attr, 'distinct_id')
      assertRejects(
        jsonRequest({ api_key: TOKEN, batch: [{ event: 'e', distinct_id: '' }] }),
        400,
        'missing_distinct_id',
        'event at index 0 has no distinct_id',
      )
      assertRejects(jsonRequest({ api_key: TOKEN, batch: [{ event: 'e', distinct_id: '   ' }] }), 400, 'missing_distinct_id', 'event at index 0')
    })
  })

  describe('uuid', () => {
    it('assigns a fresh v4 uuid when the event has none', () => {
      const parsed = parse(jsonRequest({ api_key: TOKEN, batch: [ev(), ev({ uuid: null })] }))
      for (const e of parsed.events) assert.match(e.uuid, UUID_V4_RE)
      assert.notEqual(parsed.events[0].uuid, parsed.events[1].uuid)
    })

    it('keeps a client uuid of any version, lower-cased', () => {
      const v7 = '01A2141E-3FDF-7C51-A72B-147C8A4E3222'
      assert.equal(parse(jsonRequest({ api_key: TOKEN, batch: [ev({ uuid: v7 })] })).events[0].uuid, v7.toLowerCase())
    })

    it('rejects an invalid uuid with 400 naming the event index', () => {
      const err = assertRejects(
        jsonRequest({ api_key: TOKEN, batch: [ev(), ev({ uuid: 'not-a-uuid' })] }),
        400,
        'invalid_uuid',
        'event at index 1 has an invalid uuid',
      )
      assert.equal(err.attr, 'uuid')
      assertRejects(jsonRequest({ api_key: TOKEN, batch: [ev({ uuid: 12 })] }), 400, 'invalid_uuid', 'event at index 0')
    })

    it('refuses a batch with two different events of one uuid, naming the uuid and both indexes; copies of one event pass', () => {
      const uuid = '01a2141e-3fdf-7c51-a72b-147c8a4e3222'
      const err = assertRejects(
        jsonRequest({ api_key: TOKEN, batch: [ev({ event: 'a', uuid }), ev(), ev({ event: 'b', uuid })] }),
        400,
        'duplicate_uuid',
        `events at index 0 and 2 are different events with the same uuid ${uuid}`,
      )
      assert.equal(err.attr, 'uuid')
      assert.equal(parse(jsonRequest({ api_key: TOKEN, batch: [ev({ uuid }), ev({ uuid })] })).events.length, 2)
    })
  })

  describe('timestamps', () => {
    const ts = (payload: unknown) => parse(jsonRequest(payload))

    it('corrects clock skew with the batch sent_at: now + (timestamp - sent_at)', () => {
      // The client clock is 1h ahead; the event happened 5s before sending.
      const parsed = ts({ api_key: TOKEN, sent_at: '2024-05-01T13:00:05.000Z', batch: [ev({ timestamp: '2024-05-01T13:00:00.000Z' })] })
      assert.equal(parsed.events[0].timestamp, '2024-05-01T11:59:55.000Z')
      assert.equal(parsed.events[0].sent_at, '2024-05-01T13:00:05.000Z')
    })

    it('carries sent_at on as the ISO time it names, or null when it names none, never as the text sent', () => {
      const parsed = ts({
        api_key: TOKEN,
        sent_at: '2024-05-01 13:00:05+02:00' + ' '.repeat(1000),
        batch: [ev(), ev({ sent_at: 'soon' }), ev({ sent_at: 1714561205 })],
      })
      assert.deepEqual(
        parsed.events.map((e) => e.sent_at),
        ['2024-05-01T11:00:05.000Z', null, '2024-05-01T11:00:05.000Z'],
      )
    })

    it('lets an event sent_at override the batch sent_at', () => {
      const parsed = ts({
        api_key: TOKEN,
        sent_at: '2024-05-01T13:00:05.000Z',
        batch: [ev({ timestamp: '2024-05-01T10:00:00.000Z', sent_at: '2024-05-01T10:00:10.000Z' })],
      })
      assert.equal(parsed.events[0].timestamp, '2024-05-01T11:59:50.000Z')
      assert.equal(parsed.events[0].sent_at, '2024-05-01T10:00:10.000Z')
    })

    it('uses now - offset when an offset is given', () => {
      assert.equal(ts([ev({ token: TOKEN, offset: 1500 })]).events[0].timestamp, '2024-05-01T11:59:58.500Z')
    })

    it('uses the timestamp as is without sent_at, and now without a timestamp', () => {
      assert.equal(ts([ev({ token: TOKEN, timestamp: '2024-04-30T08:00:00+02:00' })]).events[0].timestamp, '2024-04-30T06:00:00.000Z')
      assert.equal(ts([ev({ token: TOKEN })]).events[0].timestamp, NOW.toISOString())
    })

    it('skips skew correction when properties.$ignore_sent_at is set', () => {
      const parsed = ts({
        api_key: TOKEN,
        sent_at: '2024-05-01T13:00:05.000Z',
        batch: [ev({ timestamp: '2024-04-01T00:00:00.000Z', properties: { $ignore_sent_at: true } })],
      })
      assert.equal(parsed.events[0].timestamp, '2024-04-01T00:00:00.000Z')
    })

    it('ignores a batch sent_at nested 10 000 deep with a warning that does not quote it, and keeps the events', () => {
      // Built as text: serialising it here would overflow this process's stack.
      const deep = '['.repeat(10_000) + ']'.repeat(10_000)
      const parsed = parse(request({ body: Buffer.from(`{"api_key":"${TOKEN}","sent_at":${deep},"batch":[{"event":"e","distinct_id":"d"}]}`) }))
      assert.equal(parsed.events.length, 1)
      assert.equal(parsed.events[0].timestamp, NOW.toISOString())
      assert.deepEqual(parsed.warnings, ['event at index 0: ignored_invalid_timestamp: sent_at an array is not a valid date'])
    })

    it('replaces an invalid timestamp with now and warns, naming the event index', () => {
      const parsed = ts({ api_key: TOKEN, batch: [ev(), ev({ timestamp: 'yesterday-ish' })] })
      assert.equal(parsed.events[1].timestamp, NOW.toISOString())
      assert.equal(parsed.warnings.length, 1)
      assert.match(parsed.warnings[0], /^event at index 1: ignored_invalid_timestamp: timestamp "yesterday-ish"/)
    })
  })

  describe('ip and site_url', () => {
    it('passes the server-decided ip through and keeps a client $ip property', () => {
      const parsed = parse(jsonRequest({ ...ev({ properties: { $ip: '198.51.100.1' } }), api_key: TOKEN }, { ip: null }))
      assert.equal(parsed.events[0].ip, null)
      assert.equal(parsed.events[0].properties.$ip, '198.51.100.1')
    })

    it('takes site_url from Origin, then Referer, then $current_url, else empty', () => {
      const payload = { ...ev({ properties: { $current_url: 'https://from-props.example/a?b=1' } }), api_key: TOKEN }
      const site = (headers: Record<string, string>) => parse(jsonRequest(payload, { headers })).events[0].site_url
      assert.equal(site({ origin: 'https://origin.example' }), 'https://origin.example')
      assert.equal(site({ referer: 'https://ref.example:8443/page?q=1' }), 'https://ref.example:8443')
      assert.equal(site({ origin: 'null' }), 'https://from-props.example')
      assert.equal(site({}), 'https://from-props.example')
      assert.equal(parse(jsonRequest({ ...ev(), api_key: TOKEN }, { headers: {} })).events[0].site_url, '')
    })
  })

  describe('errors', () => {
    it("holds a body in the budget at what it becomes once parsed, its objects and arrays at 64 bytes each, and refuses with 413 one with more than four body limits' worth", () => {
      // A 1 MiB limit: at most 65 536 objects and arrays (4 MiB once parsed).
      const limits: CaptureLimits = { maxBodyBytes: 1024 * 1024 }
      const empties = (n: number) => Buffer.from(`[${Array.from({ length: n }, () => '{}').join(',')}]`)
      assertRejects(
        request({ body: empties(65_536) }),
        413,
        'payload_too_large',
        /^the body holds 65537 objects and arrays, more than the 65536 a body may hold \(64 bytes each once parsed; 4 times the body limit\)$/,
        limits,
      )
      const held: number[] = []
      const body = empties(4000)
      const events = Array.from({ length: 4000 }, () => ({}))
      assert.throws(() => parse(request({ body }), { ...limits, beforeParse: (size) => void held.push(size) }), /missing api token/)
      assert.deepEqual(held, [body.length + 4001 * 64], `held ${held[0]} for ${events.length} empty objects and their array`)
      // A posthog-js batch is held at about its length: its objects are few beside its text.
      const batch = JSON.stringify({
        api_key: TOKEN,
        batch: Array.from({ length: 100 }, (_, i) => ev({ properties: { $current_url: 'https://example.com/a', i } })),
      })
      held.length = 0
      parse(request({ body: Buffer.from(batch) }), { ...limits, beforeParse: (size) => void held.push(size) })
      assert.equal(held[0], batch.length + 202 * 64, 'the body, its batch, and each event and its properties')
    })

    it('rejects invalid JSON with 400', () => {
      assertRejects(request({ body: Buffer.from('{"event": ') }), 400, 'invalid_json', 'invalid JSON')
      assertRejects(request({ headers: { 'content-encoding': 'gzip' }, body: gzipSync(Buffer.from('[{]')) }), 400, 'invalid_json', 'invalid JSON')
    })

    it('rejects an empty body and a form without data with 400', () => {
      assertRejects(request({ body: Buffer.alloc(0) }), 400, 'no_data', 'empty request body')
      assertRejects(request({ method: 'GET', url: '/e/?ip=1', headers: {} }), 400, 'no_data', 'no "data" field')
      assertRejects(
        request({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from('compression=base64') }),
        400,
        'no_data',
        'no "data" field',
      )
    })

    it('rejects a data field that is neither JSON nor base64, and corrupt gzip, with 400', () => {
      assertRejects(
        request({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from('data=%%%not*base64') }),
        400,
        'invalid_payload',
        'neither JSON nor base64',
      )
      const corrupt = gzipJson([ev()]).subarray(0, 12)
      assertRejects(request({ headers: { 'content-encoding': 'gzip' }, body: corrupt }), 400, 'invalid_payload', 'invalid gzip data')
    })

    it('rejects a body over the limit with 413', () => {
      const body = Buffer.from(JSON.stringify({ ...ev({ properties: { pad: 'x'.repeat(2000) } }), api_key: TOKEN }))
      assertRejects(request({ body }), 413, 'payload_too_large', 'exceeds the 1000 byte limit', { maxBodyBytes: 1000 })
    })

    it('enforces the limit on the decompressed size (gzip bomb → 413)', () => {
      // 50 MB of spaces around a valid JSON event compresses to ~50 KB.
      const bomb = gzipSync(Buffer.concat([Buffer.from('['), Buffer.alloc(50 * 1024 * 1024, 0x20), Buffer.from(']')]))
      assert.ok(bomb.length < LIMITS.maxBodyBytes, 'the compressed bomb itself must be under the limit')
      assertRejects(
        request({ headers: { 'content-encoding': 'gzip' }, body: bomb }),
        413,
        'payload_too_large',
        'decompressed body exceeds the 65536 byte limit',
      )
      // Same bomb without any header: sniffed and still bounded.
      assertRejects(request({ url: '/e/?compression=gzip-js', headers: {}, body: bomb }), 413, 'payload_too_large', 'decompressed body exceeds')
    })

    it('rejects an unsupported Content-Encoding with 415', () => {
      assertRejects(
        request({ headers: { 'content-encoding': 'br' }, body: Buffer.from('x') }),
        415,
        'unsupported_content_encoding',
        'unsupported content encoding "br"',
      )
    })

    it('rejects lz64 compression with 415', () => {
      assertRejects(request({ url: '/e/?compression=lz64', body: Buffer.from('data=abc') }), 415, 'unsupported_compression', 'unsupported compression "lz64"')
    })

    it('rejects an empty batch with 400', () => {
      assertRejects(jsonRequest({ api_key: TOKEN, batch: [] }), 400, 'empty_batch', 'empty batch')
      assertRejects(jsonRequest([]), 400, 'empty_batch', 'empty batch')
      assertRejects(jsonRequest({ api_key: TOKEN, data: [] }), 400, 'empty_batch', 'empty batch')
    })

    it('rejects bodies that are not an object or array, and malformed wrappers, with 400', () => {
      assertRejects(jsonRequest('hello'), 400, 'invalid_payload', 'must be a JSON object or array')
      assertRejects(jsonRequest(42), 400, 'invalid_payload', 'must be a JSON object or array')
      assertRejects(jsonRequest({ api_key: TOKEN, batch: {} }), 400, 'invalid_payload', '"batch" must be an array')
      assertRejects(jsonRequest({ api_key: TOKEN, data: 'x' }), 400, 'invalid_payload', '"data" must be an event or an array')
    })

    it('rejects an event without a name with 400 naming the index', () => {
      const err = assertRejects(
        jsonRequest({ api_key: TOKEN, batch: [ev(), ev(), { distinct_id: 'u' }] }),
        400,
        'missing_event_name',
        'event at index 2 has no "event" name',
      )
      assert.equal(err.attr, 'event')
      assertRejects(jsonRequest({ api_key: TOKEN, batch: [ev({ event: '' })] }), 400, 'missing_event_name', 'event at index 0')
      assertRejects(jsonRequest({ api_key: TOKEN, batch: [ev({ event: 5 })] }), 400, 'invalid_event', 'event at index 0 has a non-string "event" name')
    })

    it('rejects non-object events and non-object properties with 400 naming the index', () => {
      assertRejects(jsonRequest({ api_key: TOKEN, batch: [ev(), 'oops'] }), 400, 'invalid_event', 'event at index 1 is not a JSON object')
      assertRejects(
        jsonRequest({ api_key: TOKEN, batch: [ev({ properties: [1] })] }),
        400,
        'invalid_event',
        'event at index 0: "properties" must be a JSON object',
      )
    })

    it('checks the token before the events, so a token-less bad batch gets 401', () => {
      assertRejects(jsonRequest([{ distinct_id: 'u' }]), 401, 'missing_token', 'missing api token')
    })
  })
})
