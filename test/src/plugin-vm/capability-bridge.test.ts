import assert from 'assert/strict'
import { randomBytes } from 'crypto'
import fs from 'fs'
import os from 'os'
import path from 'path'
import { Pool as HostPool, types as hostTypes } from 'pg'
import { eventually } from '../harness/fleet'
import { runCli } from '../harness/processes'
import { loadCode } from './helpers'

const database = () => new URL(process.env.DATABASE_URL!)
const target = () => {
  const db = database()
  return { host: db.hostname, port: Number(db.port), user: decodeURIComponent(db.username), database: db.pathname.slice(1) }
}

describe('plugin-vm: pg through the capability bridge', () => {
  let hostPool: HostPool
  before(() => (hostPool = new HostPool({ connectionString: process.env.DATABASE_URL, max: 2 })))
  after(() => hostPool.end())

  describe('what plugins can do', () => {
    it('uses a Pool: connect and release (promise and callback forms), counters, events, rowMode arrays and fields', async () => {
      const { instance } = await loadCode(
        `
        import { Pool } from 'pg'
        export async function runEveryMinute({ config }) {
          const pool = new Pool({ connectionString: config.url, max: 2 })
          const seen = []
          const chained = pool.on('connect', () => seen.push('connect')).on('acquire', () => seen.push('acquire'))
          const client = await pool.connect()
          const during = { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }
          const arrays = await client.query({ text: 'SELECT $1::int AS a, $2::text AS b', values: [7, 'x'], rowMode: 'array' })
          client.release()
          const viaCallback = await new Promise((resolve, reject) =>
            pool.connect((err, c, release) => {
              if (err) return reject(err)
              c.query('SELECT 2 AS two', (qerr, res) => {
                release()
                qerr ? reject(qerr) : resolve(res.rows[0].two)
              })
            }))
          const after = { total: pool.totalCount, idle: pool.idleCount }
          await pool.end()
          const { rows, fields, command, rowCount } = arrays
          return { chained: chained === pool, seen, during, arrays: { rows, fields, command, rowCount }, viaCallback, after }
        }`,
        { config: { url: process.env.DATABASE_URL } },
      )
      try {
        const out = (await instance.call('runEveryMinute', [])) as Record<string, unknown>
        assert.equal(out.chained, true, 'on() returns the pool itself')
        assert.deepEqual(out.during, { total: 1, idle: 0, waiting: 0 })
        assert.deepEqual(out.arrays, {
          rows: [[7, 'x']],
          fields: [
            { name: 'a', dataTypeID: 23 },
            { name: 'b', dataTypeID: 25 },
          ],
          command: 'SELECT',
          rowCount: 1,
        })
        assert.equal(out.viaCallback, 2)
        assert.deepEqual(out.after, { total: 1, idle: 1 })
        assert.deepEqual([...(out.seen as string[])].sort(), ['acquire', 'acquire', 'connect'])
      } finally {
        instance.dispose()
      }
    })

    it('uses a Client: node-style callbacks, notices, the end event, multi-statement results, errors with their fields, bytea as a Buffer', async () => {
      const { instance } = await loadCode(
        `
        import pg from 'pg'
        export async function runEveryMinute({ config }) {
          const client = new pg.Client(config.url)
          const events = []
          client.on('notice', (n) => events.push('notice: ' + n.message))
          client.once('end', () => events.push('end'))
          await new Promise((resolve, reject) => client.connect((err) => (err ? reject(err) : resolve())))
          await client.query("DO $$ BEGIN RAISE NOTICE 'hello'; END $$")
          const multi = await client.query('SELECT 1 AS one; SELECT 2 AS two')
          let failure
          try { await client.query('SELECT 1/0') } catch (e) {
            failure = { isError: e instanceof Error, name: e.name, code: e.code, severity: e.severity, message: e.message }
          }
          const bytes = (await client.query("SELECT '\\\\x0102'::bytea AS b")).rows[0].b
          await new Promise((resolve) => client.end(resolve))
          return { events, multi: multi.map((r) => r.rows), failure, bytes: { isBuffer: Buffer.isBuffer(bytes), hex: bytes.toString('hex') } }
        }`,
        { config: { url: process.env.DATABASE_URL } },
      )
      try {
        assert.deepEqual(await instance.call('runEveryMinute', []), {
          events: ['notice: hello', 'end'],
          multi: [[{ one: 1 }], [{ two: 2 }]],
          failure: { isError: true, name: 'error', code: '22012', severity: 'ERROR', message: 'division by zero' },
          bytes: { isBuffer: true, hex: '0102' },
        })
      } finally {
        instance.dispose()
      }
    })
  })

  describe('what plugins cannot reach', () => {
    it('offers Client and Pool and their named methods only: no Connection, types, native, defaults, streams or private fields', async () => {
      const { instance } = await loadCode(
        `
        import * as pg from 'pg'
        export async function runEveryMinute({ config }) {
          const client = new pg.Client({})
          const pool = new pg.Pool({ connectionString: config.url, max: 1 })
          const poolClient = await pool.connect()
          const absent = {}
          for (const [name, value] of Object.entries({
            types: pg.types, native: pg.native, defaults: pg.defaults,
            connection: client.connection, stream: client.stream, connecting: client._connecting, parameters: client.connectionParameters,
            poolOptions: pool.options, poolClients: pool._clients, poolClientConnection: poolClient.connection,
          })) absent[name] = typeof value
          const classes = ['Connection', 'Query'].map((name) => { try { return typeof pg[name] } catch (e) { return e.message } })
          let setTypeParser
          try { pg.types.setTypeParser(3802, () => 'owned'); setTypeParser = 'replaced' } catch (e) { setTypeParser = 'threw: ' + e.message }
          poolClient.release()
          await pool.end()
          return {
            absent,
            classes,
            setTypeParser,
            module: Object.getOwnPropertyNames(pg).filter((k) => k !== 'default').sort(),
            client: Object.getOwnPropertyNames(client).sort(),
            pool: Object.getOwnPropertyNames(pool).sort(),
            poolClient: Object.getOwnPropertyNames(poolClient).sort(),
          }
        }`,
        { config: { url: process.env.DATABASE_URL } },
      )
      const jsonbParser = hostTypes.getTypeParser(3802)
      try {
        const out = (await instance.call('runEveryMinute', [])) as Record<string, unknown>
        for (const [name, type] of Object.entries(out.absent as Record<string, string>)) assert.equal(type, 'undefined', `${name} is not offered`)
        assert.deepEqual(out.classes, [
          'pg: "Connection" is not available to plugins (pg offers: Client, Pool)',
          'pg: "Query" is not available to plugins (pg offers: Client, Pool)',
        ])
        assert.match(String(out.setTypeParser), /^threw: /)
        assert.deepEqual(out.module, ['Client', 'Pool'])
        const events = ['addListener', 'off', 'on', 'once', 'removeAllListeners', 'removeListener']
        assert.deepEqual(out.client, ['connect', 'end', 'escapeIdentifier', 'escapeLiteral', ...events, 'query'].sort())
        assert.deepEqual(out.pool, ['connect', 'end', 'idleCount', 'query', 'totalCount', 'waitingCount', ...events].sort())
        assert.deepEqual(out.poolClient, ['escapeIdentifier', 'escapeLiteral', 'query', 'release', ...events].sort())
        assert.equal(hostTypes.getTypeParser(3802), jsonbParser, "the host's jsonb parser is untouched")
        const { rows } = await hostPool.query(`SELECT '{"a":1}'::jsonb AS j`)
        assert.deepEqual(rows[0].j, { a: 1 })
      } finally {
        instance.dispose()
      }
    })

    it('refuses constructor, connection string and query keys it does not name, naming the key', async () => {
      const { instance } = await loadCode(`
        import { Client, Pool } from 'pg'
        export async function runEveryMinute() {
          const out = {}
          const tries = {
            stream: () => new Client({ stream: () => ({}) }),
            types: () => new Client({ types: { getTypeParser: () => () => 1 } }),
            ClientOption: () => new Pool({ Client: function () {} }),
            PromiseOption: () => new Pool({ Promise }),
            sslSocket: () => new Client({ ssl: { socket: {} } }),
            passwordFunction: () => new Client({ password: () => 'x' }),
            fileParameter: () => new Client('postgres://u@db.example/d?sslrootcert=/etc/passwd'),
            replication: () => new Client({ connectionString: 'postgres://u@db.example/d?replication=database' }),
            queryTypes: () => new Client({}).query({ text: 'SELECT 1', types: {} }),
            querySubmittable: () => new Client({}).query({ text: 'SELECT 1', submit() {} }),
            withoutNew: () => Client({}),
          }
          for (const [name, attempt] of Object.entries(tries)) {
            try { await attempt(); out[name] = 'accepted' } catch (e) { out[name] = e.message }
          }
          return out
        }`)
      try {
        const out = (await instance.call('runEveryMinute', [])) as Record<string, string>
        assert.match(out.stream, /^pg: new Client: config key "stream" is not available to plugins/)
        assert.match(out.types, /config key "types" is not available to plugins/)
        assert.match(out.ClientOption, /pg: new Pool: config key "Client" is not available to plugins/)
        assert.match(out.PromiseOption, /config key "Promise" is not available to plugins/)
        assert.match(out.sslSocket, /config key "ssl\.socket" is not available to plugins/)
        assert.match(out.passwordFunction, /password/)
        assert.match(out.fileParameter, /connection string parameter "sslrootcert" is not available to plugins/)
        assert.match(out.replication, /connection string parameter "replication" is not available to plugins/)
        assert.match(out.queryTypes, /pg\.Client\.query: query key "types" is not available to plugins/)
        assert.match(out.querySubmittable, /query key "submit" is not available to plugins/)
        assert.match(out.withoutNew, /cannot be invoked without 'new'/)
      } finally {
        instance.dispose()
      }
    })

    it('gives nothing from which a host value can be reached: every key, symbol, prototype and getter of everything pg hands out', async () => {
      const { instance } = await loadCode(
        `
        import * as pg from 'pg'
        const FUNCTION_PROTOTYPES = [function () {}, async function () {}, function* () {}, async function* () {}].map(Object.getPrototypeOf)
        function walk(roots) {
          const seen = new Set()
          const queue = [...roots]
          const problems = []
          while (queue.length > 0 && seen.size < 20000) {
            const value = queue.shift()
            if ((typeof value !== 'object' && typeof value !== 'function') || value === null || seen.has(value)) continue
            seen.add(value)
            if (typeof value === 'function' && value !== Function.prototype && !FUNCTION_PROTOTYPES.includes(Object.getPrototypeOf(value))) {
              problems.push('a function that is not the isolate one: ' + value.name)
            }
            for (const probe of ['applySync', 'derefInto', 'copySync', 'deref']) {
              try { if (typeof value[probe] === 'function') problems.push('a host reference (' + probe + ')') } catch {}
            }
            queue.push(Object.getPrototypeOf(value))
            for (const key of [...Object.getOwnPropertyNames(value), ...Object.getOwnPropertySymbols(value)]) {
              const descriptor = Object.getOwnPropertyDescriptor(value, key)
              if (!descriptor) continue
              queue.push(descriptor.value, descriptor.get, descriptor.set)
              if (descriptor.get) { try { queue.push(descriptor.get.call(value)) } catch {} }
            }
            for (const key of ['constructor', '__proto__', 'prototype', 'caller', 'arguments']) {
              try { queue.push(value[key]) } catch {}
            }
          }
          return { visited: seen.size, problems }
        }
        export async function runEveryMinute({ config }) {
          const pool = new pg.Pool({ connectionString: config.url, max: 1 })
          const client = new pg.Client({})
          const poolClient = await pool.connect()
          const result = await poolClient.query('SELECT 1 AS one')
          let error
          try { await poolClient.query('SELECT * FROM no_such_table') } catch (e) { error = e }
          poolClient.release()
          const out = walk([pg, pg.Client, pg.Pool, client, pool, poolClient, result, error, client.on('error', () => {})])
          await pool.end()
          // The isolate's own Function, found through the bridged class, still has no process.
          out.processThroughClass = pg.Client.constructor('return typeof process')()
          return out
        }`,
        { config: { url: process.env.DATABASE_URL } },
      )
      try {
        const out = (await instance.call('runEveryMinute', [])) as { visited: number; problems: string[]; processThroughClass: string }
        assert.deepEqual(out.problems, [])
        assert.equal(out.processThroughClass, 'undefined')
        assert.ok(out.visited > 100, `walked ${out.visited} objects`)
      } finally {
        instance.dispose()
      }
    })
  })

  describe('the address policy', () => {
    const REFUSE = `
      import { Client } from 'pg'
      export async function runEveryMinute({ config }) {
        const target = JSON.parse(config.target)
        const client = new Client({ ...target, connectionTimeoutMillis: 5000 })
        try {
          await client.connect()
          const { rows } = await client.query('SELECT 1 AS one')
          await client.end()
          return { rows }
        } catch (e) {
          return { error: { name: e.name, code: e.code, message: e.message } }
        }
      }`
    async function connect(
      to: Record<string, unknown>,
      allowed: string[],
    ): Promise<{ rows?: unknown[]; error?: { name: string; code: string; message: string } }> {
      const { instance } = await loadCode(REFUSE, { config: { target: JSON.stringify(to) } }, { fetchAllowedHosts: allowed })
      try {
        return (await instance.call('runEveryMinute', [])) as { rows?: unknown[]; error?: { name: string; code: string; message: string } }
      } finally {
        instance.dispose()
      }
    }

    it('refuses the test Postgres on 127.0.0.1 and the metadata address with FetchRefusedError inside the plugin', async () => {
      const loopback = await connect(target(), [])
      assert.equal(loopback.error?.name, 'FetchRefusedError')
      assert.equal(loopback.error?.code, 'ERR_PLUGIN_FETCH_REFUSED')
      assert.match(loopback.error?.message ?? '', /fetch refused: pg: 127\.0\.0\.1 is a loopback address .*PLUGIN_FETCH_ALLOWED_HOSTS/)
      const metadata = await connect({ ...target(), host: '169.254.169.254' }, [])
      assert.equal(metadata.error?.name, 'FetchRefusedError')
      assert.match(metadata.error?.message ?? '', /169\.254\.169\.254/)
      const unix = await connect({ ...target(), host: '/var/run/postgresql' }, ['0.0.0.0/0', '::/0'])
      assert.match(unix.error?.message ?? '', /pg: Unix socket connections are not allowed/)
    })

    it('connects when the operator allows 127.0.0.0/8', async () => {
      assert.deepEqual(await connect(target(), ['127.0.0.0/8']), { rows: [{ one: 1 }] })
    })
  })

  describe('nothing a plugin does through pg throws on the host', () => {
    const fired: string[] = []
    const onRejection = (reason: unknown) => fired.push(`unhandledRejection: ${String((reason as Error)?.message ?? reason)}`)
    const onException = (error: Error) => fired.push(`uncaughtException: ${error.message}`)
    before(() => {
      process.on('unhandledRejection', onRejection)
      process.on('uncaughtException', onException)
    })
    after(() => {
      process.off('unhandledRejection', onRejection)
      process.off('uncaughtException', onException)
    })

    it('survives a swallowed refused connect, a never-awaited one and queries on a connection the server closed', async () => {
      const app = `bridge_dead_${randomBytes(4).toString('hex')}`
      const { host, instance } = await loadCode(
        `
        import { Client } from 'pg'
        let client
        export async function runEveryMinute({ config }) {
          const refused = { host: '169.254.169.254', port: 5432, user: 'x' }
          try { await new Client(refused).connect() } catch (e) {}
          new Client(refused).connect()
          new Client(refused).query('SELECT 1')
          let name
          try { await new Client(refused).connect() } catch (e) { name = e.name }
          client = new Client({ connectionString: config.url, application_name: config.app })
          await client.connect()
          return name
        }
        export async function runEveryHour() {
          try { await client.query('SELECT 1'); return 'answered' } catch (e) { return e.message }
        }
        export async function runEveryDay() {
          client.query('SELECT 1')
          try { await client.query('SELECT 2') } catch (e) {}
          return 'sent'
        }`,
        { config: { url: process.env.DATABASE_URL, app } },
        { fetchAllowedHosts: ['127.0.0.0/8'] },
      )
      try {
        assert.equal(await instance.call('runEveryMinute', []), 'FetchRefusedError')
        await hostPool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [app])
        await eventually(
          'the unheard connection error is in the plugin logs',
          async () => host.logs.filter((l) => l.level === 'warn').map((l) => l.message),
          (warnings) => warnings.some((m) => /pg\.Client error with no 'error' listener: .*terminating connection/.test(m)),
        )
        assert.match(String(await instance.call('runEveryHour', [])), /not queryable/)
        // The never-awaited rejection is the plugin's own: at most its call fails, the host carries on.
        const outcome = await instance.call('runEveryDay', []).then(String, (e: Error) => e.message)
        assert.match(outcome, /^sent$|not queryable/)
        assert.deepEqual(fired, [])
      } finally {
        instance.dispose()
      }
      assert.deepEqual(fired, [])
    })

    it('`plugin run` exits 0 with a plugin that swallows a refused pg connect', async function () {
      this.timeout(60_000)
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bridge-run-'))
      try {
        fs.writeFileSync(path.join(dir, 'plugin.json'), JSON.stringify({ name: 'pg swallow', main: 'index.js' }))
        fs.writeFileSync(
          path.join(dir, 'index.js'),
          `const pg = require('pg')
          export async function processEvent(event) {
            new pg.Client({ host: '127.0.0.1' }).connect()
            try { await new pg.Client({ host: '127.0.0.1' }).connect() } catch (e) { console.log('caught ' + e.name) }
            return event
          }`,
        )
        const eventFile = path.join(dir, 'event.json')
        fs.writeFileSync(eventFile, JSON.stringify({ event: 'e', distinct_id: 'd', properties: {} }))
        const result = await runCli(['plugin', 'run', dir, '--event', eventFile], { PLUGIN_FETCH_ALLOWED_HOSTS: '' })
        assert.equal(result.code, 0, result.stderr)
        const output = JSON.parse(result.stdout) as { console: { message: string }[]; errors: unknown[] }
        assert.deepEqual(output.errors, [])
        assert.ok(
          output.console.some((l) => l.message === 'caught FetchRefusedError'),
          JSON.stringify(output.console),
        )
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })
  })

  it('closes the clients and pools a plugin left open when its isolate is disposed', async () => {
    const app = `bridge_left_open_${randomBytes(4).toString('hex')}`
    const { instance } = await loadCode(
      `
      import { Client, Pool } from 'pg'
      export async function runEveryMinute({ config }) {
        const client = new Client({ connectionString: config.url, application_name: config.app })
        await client.connect()
        const pool = new Pool({ connectionString: config.url, application_name: config.app, max: 1 })
        await pool.query('SELECT 1')
        const checkedOut = await new Pool({ connectionString: config.url, application_name: config.app, max: 1 }).connect()
        await checkedOut.query('SELECT 1')
      }`,
      { config: { url: process.env.DATABASE_URL, app } },
    )
    const open = async () => Number((await hostPool.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [app])).rows[0].n)
    await instance.call('runEveryMinute', [])
    assert.equal(await open(), 3)
    instance.dispose()
    await eventually('the connections closed', open, (n) => n === 0)
  })
})
