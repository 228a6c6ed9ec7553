import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { AddressPolicy, FetchRefusedError, fetchGuard, guardedFetch, parseAllowedHosts } from '@plugin-server/plugin-vm'
import { ConfigError, loadConfig } from '@plugin-server/core'
import { runCli } from '../harness/processes'
import { loadCode } from '../plugin-vm/helpers'

/** A plugin whose processEvent fetches `event.url` and reports the outcome instead of throwing. */
const FETCHER = `
  export async function processEvent(event) {
    try {
      const res = await fetch(event.url, { method: event.method || 'GET', headers: event.headers || {}, body: event.body })
      return { ...event, status: res.status, url: res.url, text: await res.text() }
    } catch (error) {
      return { ...event, error: error.name + ': ' + error.message, code: error.code }
    }
  }`

type Outcome = { status?: number; url?: string; text?: string; error?: string; code?: string }

async function fetchFromPlugin(url: string, allowed: string[], extra: Record<string, unknown> = {}, maxFetchRedirects?: number): Promise<Outcome> {
  const { instance } = await loadCode(FETCHER, {}, { fetchAllowedHosts: allowed, maxFetchRedirects })
  try {
    return (await instance.call('processEvent', [{ event: 'e', url, ...extra }])) as Outcome
  } finally {
    instance.dispose()
  }
}

describe('security: plugin fetch policy', function () {
  let server: http.Server
  let port: number
  const seen: { path: string; authorization?: string }[] = []

  before(async () => {
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x')
      seen.push({ path: url.pathname, authorization: req.headers.authorization })
      const loop = /^\/loop\/(\d+)$/.exec(url.pathname)
      if (loop) return res.writeHead(302, { location: `/loop/${Number(loop[1]) + 1}` }).end()
      const hops = /^\/hops\/(\d+)$/.exec(url.pathname)
      if (hops && hops[1] !== '0') return res.writeHead(301, { location: `/hops/${Number(hops[1]) - 1}` }).end()
      if (url.pathname === '/to') return res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('target')! }).end()
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${url.pathname} ${req.method} auth=${req.headers.authorization ?? '-'}`)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })
  after(() => new Promise<void>((resolve) => server.close(() => resolve())))

  describe('AddressPolicy', () => {
    const policy = new AddressPolicy()
    const refused = [
      '127.0.0.1',
      '127.255.255.254',
      '0.0.0.0',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '100.64.0.1',
      '169.254.169.254',
      '224.0.0.1',
      '255.255.255.255',
      '198.18.0.1',
      '::',
      '::1',
      'fc00::1',
      'fd00:ec2::254',
      'fe80::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:169.254.169.254',
      '::ffff:10.0.0.1',
      '64:ff9b::a9fe:a9fe',
      '2002:7f00:1::',
      '::127.0.0.1',
      'fe80::1%eth0',
    ]
    for (const address of refused) {
      it(`refuses ${address}`, () => assert.ok(policy.refusal(address), `${address} should be refused`))
    }
    for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808']) {
      it(`allows the public address ${address}`, () => assert.equal(policy.refusal(address), null))
    }

    it('opens CIDRs, single IPs and hostnames listed by the operator, and nothing else', () => {
      const open = new AddressPolicy(['10.1.0.0/16', '192.168.7.7', 'fd00::/8', 'db.internal', '*.corp.example'])
      assert.equal(open.refusal('10.1.2.3'), null)
      assert.ok(open.refusal('10.2.0.1'))
      assert.equal(open.refusal('192.168.7.7'), null)
      assert.ok(open.refusal('192.168.7.8'))
      assert.equal(open.refusal('fd12::1'), null)
      assert.equal(open.refusal('::ffff:10.1.0.9'), null)
      assert.ok(open.refusal('127.0.0.1'))
      assert.equal(open.allowsName('DB.internal.'), true)
      assert.equal(open.allowsName('a.b.corp.example'), true)
      assert.equal(open.allowsName('corp.example.evil.com'), false)
      assert.equal(open.allowsName('db.internal.evil.com'), false)
    })

    it('rejects malformed allowlist entries naming PLUGIN_FETCH_ALLOWED_HOSTS, in the VM and at start-up', () => {
      assert.throws(() => parseAllowedHosts('10.0.0.0/33'), /PLUGIN_FETCH_ALLOWED_HOSTS: "10.0.0.0\/33" is not a CIDR/)
      assert.throws(() => parseAllowedHosts('bad host!'), /PLUGIN_FETCH_ALLOWED_HOSTS: "host!" is not a hostname/)
      assert.deepEqual(parseAllowedHosts(' 10.0.0.0/8, db.internal  ::1 '), ['10.0.0.0/8', 'db.internal', '::1'])
      assert.deepEqual(loadConfig({ PLUGIN_FETCH_ALLOWED_HOSTS: '10.0.0.0/8,*.corp.example' }).plugins.fetchAllowedHosts, ['10.0.0.0/8', '*.corp.example'])
      assert.deepEqual(loadConfig({}).plugins.fetchAllowedHosts, [])
      assert.throws(
        () => loadConfig({ PLUGIN_FETCH_ALLOWED_HOSTS: '10.0.0.0/40' }),
        (err: unknown) => err instanceof ConfigError && /PLUGIN_FETCH_ALLOWED_HOSTS: expected a CIDR/.test(err.message),
      )
    })
  })

  describe('fetch from a plugin with the default (empty) allowlist', () => {
    const cases = (p: () => number) =>
      [
        ['loopback', () => `http://127.0.0.1:${p()}/`],
        ['loopback by name (refused after DNS)', () => `http://localhost:${p()}/`],
        ['IPv6 loopback', () => `http://[::1]:${p()}/`],
        ['IPv4-mapped IPv6 loopback', () => `http://[::ffff:127.0.0.1]:${p()}/`],
        ['loopback written in hex', () => `http://0x7f000001:${p()}/`],
        ['loopback written as a decimal integer', () => `http://2130706433:${p()}/`],
        ['the cloud metadata address', () => 'http://169.254.169.254/latest/meta-data/'],
        ['a private address', () => 'http://10.0.0.1/'],
        ['0.0.0.0', () => `http://0.0.0.0:${p()}/`],
      ] as const
    for (const [what, url] of cases(() => port)) {
      it(`refuses ${what}`, async () => {
        const before = seen.length
        const out = await fetchFromPlugin(url(), [])
        assert.match(out.error ?? '', /^FetchRefusedError: fetch refused: /, JSON.stringify(out))
        assert.equal(out.code, 'ERR_PLUGIN_FETCH_REFUSED')
        assert.match(out.error ?? '', /PLUGIN_FETCH_ALLOWED_HOSTS/)
        assert.equal(seen.length, before, 'nothing reached the server')
      })
    }

    for (const url of ['file:///etc/passwd', 'ftp://example.com/x', 'data:text/plain,hi', 'gopher://127.0.0.1:70/', 'javascript:alert(1)']) {
      it(`refuses the scheme of ${url}`, async () => {
        const out = await fetchFromPlugin(url, [])
        assert.match(out.error ?? '', /FetchRefusedError: fetch refused: the [a-z]+: scheme is not allowed, only http: and https:/)
      })
    }

    it('keeps the path and query (where plugins put keys) out of the refusal message', async () => {
      const out = await fetchFromPlugin('http://169.254.169.254/latest?key=sk_should_not_appear', [])
      assert.match(out.error ?? '', /169\.254\.169\.254/)
      assert.doesNotMatch(out.error ?? '', /sk_should_not_appear|latest/)
    })
  })

  describe('redirects', () => {
    it('re-checks every hop: an allowed host redirecting to a refused address is refused', async () => {
      const before = seen.length
      const out = await fetchFromPlugin(`http://localhost:${port}/to?target=${encodeURIComponent(`http://127.0.0.1:${port}/inner`)}`, ['localhost'])
      assert.match(out.error ?? '', /FetchRefusedError: fetch refused: 127\.0\.0\.1 is a loopback address/)
      assert.deepEqual(
        seen.slice(before).map((s) => s.path),
        ['/to'],
        'the refused hop was never requested',
      )
    })

    it('refuses a redirect to the metadata address and to a non-http scheme', async () => {
      const meta = await fetchFromPlugin(`http://localhost:${port}/to?target=${encodeURIComponent('http://169.254.169.254/latest/')}`, ['localhost'])
      assert.match(meta.error ?? '', /link-local/)
      const file = await fetchFromPlugin(`http://localhost:${port}/to?target=${encodeURIComponent('file:///etc/passwd')}`, ['localhost'])
      assert.match(file.error ?? '', /the file: scheme is not allowed/)
    })

    it('follows allowed redirects and reports the final URL', async () => {
      const out = await fetchFromPlugin(`http://127.0.0.1:${port}/hops/3`, ['127.0.0.0/8'], {}, 3)
      assert.equal(out.error, undefined)
      assert.equal(out.status, 200)
      assert.equal(out.url, `http://127.0.0.1:${port}/hops/0`)
    })

    it('caps the number of redirects', async () => {
      const out = await fetchFromPlugin(`http://127.0.0.1:${port}/loop/1`, ['127.0.0.0/8'])
      assert.match(out.error ?? '', /FetchRefusedError: fetch refused: more than 10 redirects/)
      const short = await fetchFromPlugin(`http://127.0.0.1:${port}/loop/1`, ['127.0.0.0/8'], {}, 2)
      assert.match(short.error ?? '', /more than 2 redirects/)
    })

    it('drops credentials on a cross-origin hop and turns a 303 POST into a GET', async () => {
      const target = `http://127.0.0.1:${port}/landing`
      const cross = await fetchFromPlugin(`http://localhost:${port}/to?status=303&target=${encodeURIComponent(target)}`, ['localhost', '127.0.0.0/8'], {
        method: 'POST',
        body: 'x',
        headers: { Authorization: 'Bearer sk_cross' },
      })
      assert.equal(cross.text, 'ok /landing GET auth=-')
      const same = await fetchFromPlugin(`http://127.0.0.1:${port}/to?status=307&target=/landing`, ['127.0.0.0/8'], {
        headers: { Authorization: 'Bearer sk_same' },
      })
      assert.equal(same.text, 'ok /landing GET auth=Bearer sk_same')
    })
  })

  describe('request headers', () => {
    const headers = (count: number, valueLength = 8) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-h${i}`, 'v'.repeat(valueLength)]))

    it('refuses more than 256 request headers, or more than 64 KB of them, before anything is sent (node-fetch adds each after a scan of the others, on the host)', async () => {
      const before = seen.length
      const many = await fetchFromPlugin(`http://127.0.0.1:${port}/many`, ['127.0.0.0/8'], { headers: headers(20_000) })
      assert.equal(many.error, 'TypeError: fetch: 20000 request headers, more than the 256 a request may carry')
      const large = await fetchFromPlugin(`http://127.0.0.1:${port}/large`, ['127.0.0.0/8'], { headers: { 'x-large': 'v'.repeat(70_000) } })
      assert.equal(large.error, 'TypeError: fetch: request headers of 70007 characters, more than the 65536 a request may carry')
      assert.equal(seen.length, before, 'the server saw neither request')
    })

    it('sends 256 request headers', async () => {
      const out = await fetchFromPlugin(`http://127.0.0.1:${port}/256`, ['127.0.0.0/8'], { headers: headers(256) })
      assert.equal(out.text, 'ok /256 GET auth=-')
    })
  })

  describe('the allowlist', () => {
    it('lets operators reach internal hosts by CIDR or by name', async () => {
      assert.equal((await fetchFromPlugin(`http://127.0.0.1:${port}/a`, ['127.0.0.0/8'])).text, 'ok /a GET auth=-')
      assert.equal((await fetchFromPlugin(`http://localhost:${port}/b`, ['localhost'])).text, 'ok /b GET auth=-')
      assert.match((await fetchFromPlugin(`http://127.0.0.1:${port}/c`, ['localhost'])).error ?? '', /loopback/)
    })

    it('is used by guardedFetch outside the sandbox too', async () => {
      await assert.rejects(guardedFetch(`http://127.0.0.1:${port}/`, {}, { guard: fetchGuard([]), maxBytes: 1000 }), FetchRefusedError)
      const ok = await guardedFetch(`http://127.0.0.1:${port}/d`, {}, { guard: fetchGuard(['127.0.0.1']), maxBytes: 1000 })
      assert.equal(Buffer.from(ok.body).toString(), 'ok /d GET auth=-')
    })
  })

  describe('bridged pg', () => {
    const PG = `
      import { Client, Pool } from 'pg'
      export async function processEvent(event) {
        const client = event.pool ? new Pool(event.target) : new Client(event.target)
        try {
          if (!event.pool) await client.connect()
          const { rows } = await client.query('SELECT 1 AS one')
          return { ...event, rows }
        } catch (error) {
          return { ...event, error: error.name + ': ' + error.message }
        } finally {
          await client.end().catch(() => undefined)
        }
      }`
    const database = () => new URL(process.env.DATABASE_URL!)
    async function query(target: unknown, allowed: string[], pool = false): Promise<{ rows?: unknown[]; error?: string }> {
      const { instance } = await loadCode(PG, {}, { fetchAllowedHosts: allowed })
      try {
        return (await instance.call('processEvent', [{ event: 'e', target, pool }])) as { rows?: unknown[]; error?: string }
      } finally {
        instance.dispose()
      }
    }

    it('refuses connections to loopback, by address, by name, by connection string and through a Pool', async () => {
      const db = database()
      const config = {
        host: db.hostname,
        port: Number(db.port),
        user: decodeURIComponent(db.username),
        database: db.pathname.slice(1),
        connectionTimeoutMillis: 5000,
      }
      assert.match((await query(config, [])).error ?? '', /fetch refused: pg: 127\.0\.0\.1 is a loopback address/)
      assert.match((await query({ ...config, host: 'localhost' }, [])).error ?? '', /fetch refused: host "localhost" resolves only to refused addresses/)
      assert.match((await query(process.env.DATABASE_URL, [])).error ?? '', /fetch refused/)
      assert.match((await query(config, [], true)).error ?? '', /fetch refused/)
      assert.match((await query({ ...config, host: '/var/run/postgresql' }, [])).error ?? '', /Unix socket connections are not allowed/)
    })

    it('connects when the operator allows the address', async () => {
      const db = database()
      const out = await query({ host: db.hostname, port: Number(db.port), user: decodeURIComponent(db.username), database: db.pathname.slice(1) }, [
        '127.0.0.0/8',
      ])
      assert.deepEqual(out.rows, [{ one: 1 }], JSON.stringify(out))
    })

    it('does not hand out pg internals that would skip the guard', async () => {
      const { instance } = await loadCode(
        `export function processEvent(e) { try { require('pg/lib/client'); return { ...e, loaded: true } } catch (err) { return { ...e, error: err.message } } }`,
        {},
        { fetchAllowedHosts: [] },
      )
      try {
        const out = (await instance.call('processEvent', [{ event: 'e' }])) as { error?: string }
        assert.match(out.error ?? '', /pg\/lib\/client/)
      } finally {
        instance.dispose()
      }
    })
  })

  describe('plugin-server plugin run', () => {
    let dir: string
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'security-fetch-'))
      fs.writeFileSync(path.join(dir, 'plugin.json'), JSON.stringify({ name: 'fetch probe', main: 'index.js', config: [{ key: 'url', type: 'string' }] }))
      fs.writeFileSync(
        path.join(dir, 'index.js'),
        'export async function processEvent(e, { config }) { const r = await fetch(config.url); e.properties.body = await r.text(); return e }',
      )
    })
    after(() => fs.rmSync(dir, { recursive: true, force: true }))

    const run = (allowed: string, url: string) =>
      runCli(
        ['plugin', 'run', dir, '--event', '-', '--config', `url=${url}`],
        { PLUGIN_FETCH_ALLOWED_HOSTS: allowed },
        JSON.stringify({ event: 'e', properties: {} }),
      )

    it('applies the same policy and the same PLUGIN_FETCH_ALLOWED_HOSTS', async () => {
      const refused = await run('', `http://127.0.0.1:${port}/cli`)
      assert.equal(refused.code, 1)
      assert.match(JSON.parse(refused.stdout).errors[0].message, /fetch refused: 127\.0\.0\.1 is a loopback address/)
      const allowed = await run('127.0.0.1', `http://127.0.0.1:${port}/cli`)
      assert.equal(allowed.code, 0, allowed.stdout)
      assert.equal(JSON.parse(allowed.stdout).event.properties.body, 'ok /cli GET auth=-')
    })
  })
})
