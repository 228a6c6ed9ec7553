import assert from 'assert/strict'
import { randomBytes } from 'crypto'
import { EventEmitter } from 'events'
import { BRIDGED_MODULES } from '@plugin-server/plugin-vm'
import { loadCode, rejection } from './helpers'

describe('plugin-vm: bridged host modules', () => {
  it('runs pg through the bridge against the test Postgres', async () => {
    const databaseUrl = process.env.DATABASE_URL
    assert.ok(databaseUrl, 'DATABASE_URL must be set by the global fixture')
    const table = `plugin_vm_bridge_${randomBytes(6).toString('hex')}`
    const { instance } = await loadCode(
      `
            import { Client, Pool } from 'pg'
            import * as pg from 'pg'
            export async function runEveryMinute({ config }) {
                const client = new Client({ connectionString: config.url })
                await client.connect()
                try {
                    await client.query('CREATE TABLE ${table} (id serial primary key, name text, seen timestamptz)')
                    await client.query('INSERT INTO ${table} (name, seen) VALUES ($1, $2), ($3, $4)', ['a', new Date(0), 'b', new Date(1000)])
                    const result = await client.query('SELECT name, seen FROM ${table} ORDER BY id')
                    const viaCallback = await new Promise((resolve, reject) =>
                        client.query('SELECT count(*)::int AS n FROM ${table}', (err, res) => (err ? reject(err) : resolve(res.rows[0].n))))
                    let failure = ''
                    try { await client.query('SELECT * FROM missing_table_${table}') } catch (e) { failure = e.message + ' ' + e.code }
                    const pool = new Pool({ connectionString: config.url, max: 1 })
                    const pooled = (await pool.query('SELECT 41 + 1 AS answer')).rows[0].answer
                    await pool.end()
                    return { rows: result.rows.map((r) => [r.name, r.seen instanceof Date, r.seen.getTime()]), rowCount: result.rowCount,
                             viaCallback, failure, pooled, namespace: typeof pg.Client }
                } finally {
                    await client.query('DROP TABLE IF EXISTS ${table}')
                    await client.end()
                }
            }`,
      { config: { url: databaseUrl } },
    )
    try {
      assert.deepEqual(await instance.call('runEveryMinute', []), {
        rows: [
          ['a', true, 0],
          ['b', true, 1000],
        ],
        rowCount: 2,
        viaCallback: 2,
        failure: `relation "missing_table_${table}" does not exist 42P01`,
        pooled: 42,
        namespace: 'function',
      })
    } finally {
      instance.dispose()
    }
  })

  it('names the module, the member and what it offers when a plugin uses a client a bridged module does not offer, and lower-case or interop names still answer undefined', async () => {
    const { instance } = await loadCode(`
            import { SQS } from 'aws-sdk'
            import AWS from 'aws-sdk'
            import * as bigquery from '@google-cloud/bigquery'
            import { Pool } from 'pg'
            export function processEvent(event) {
                if (event.event === 'named') new SQS({})
                if (event.event === 'default') new AWS.Kinesis({})
                if (event.event === 'namespace') new bigquery.Storage()
                event.properties = { pool: typeof Pool, esModule: AWS.__esModule, then: AWS.then, lower: AWS.kinesis, toString: typeof AWS.toString, object: AWS instanceof Object && Object.prototype.isPrototypeOf(AWS) }
                return event
            }`)
    try {
      const use = (what: string) => instance.call('processEvent', [{ event: what, properties: {} }])
      assert.deepEqual(
        ((await use('other')) as { properties: unknown }).properties,
        { pool: 'function', toString: 'function', object: true },
        'undefined answers, and still an Object',
      )
      assert.match((await rejection(use('named'))).message, /TypeError: aws-sdk: "SQS" is not available to plugins \(aws-sdk offers: S3, config\)$/)
      assert.match((await rejection(use('default'))).message, /TypeError: aws-sdk: "Kinesis" is not available to plugins \(aws-sdk offers: S3, config\)$/)
      assert.match(
        (await rejection(use('namespace'))).message,
        /TypeError: @google-cloud\/bigquery: "Storage" is not available to plugins \(@google-cloud\/bigquery offers: BigQuery\)$/,
      )
    } finally {
      instance.dispose()
    }
  })

  it("hands out only the isolate's own objects: a bridged class's constructor is the sandbox Function", async () => {
    const { instance } = await loadCode(`
            import { Client } from 'pg'
            export function runEveryMinute() {
                const client = new Client({})
                return {
                    viaClass: Client.constructor('return typeof process')(),
                    viaInstance: client.constructor.constructor('return typeof process')(),
                    viaMethod: client.query.constructor('return typeof require')(),
                    isInstance: client instanceof Client,
                    privateField: typeof client._connecting,
                }
            }`)
    try {
      assert.deepEqual(await instance.call('runEveryMinute', []), {
        viaClass: 'undefined',
        viaInstance: 'undefined',
        viaMethod: 'undefined',
        isInstance: true,
        privateField: 'undefined',
      })
    } finally {
      instance.dispose()
    }
  })

  // Every bridged module has a spec now; "not installed" is what a server without the SDK says.
  for (const name of BRIDGED_MODULES) {
    it(`reports ${name} as not installed on a server without it`, async () => {
      const error = await rejection(
        loadCode(`import * as sdk from '${name}'\nexport function processEvent(e) { return sdk ? e : e }`, { loadHostModule: () => undefined }),
      )
      assert.match(error.message, new RegExp(`module ${name.replace('/', '\\/')} is not installed on this server`))
    })
  }

  it('wraps a host-provided SDK (PluginHost.loadHostModule) in the same facades, so its other members stay out of reach', async () => {
    class FakeClient extends EventEmitter {
      constructor(readonly config: Record<string, unknown>) {
        super()
      }
      async connect() {}
      async query(config: { text: string; values?: unknown[] }) {
        return { rows: [{ text: config.text, values: config.values, host: this.config.host }], rowCount: 1, command: 'SELECT', fields: [] }
      }
      async end() {}
      hostSecret() {
        return 'host only'
      }
    }
    const { instance } = await loadCode(
      `
            import { Client } from 'pg'
            export async function runEveryMinute() {
                const client = new Client({ host: 'db.example' })
                await client.connect()
                const { rows } = await client.query('SELECT $1', [1])
                await client.end()
                return { row: rows[0], hostSecret: typeof client.hostSecret, config: typeof client.config }
            }`,
      { loadHostModule: (name) => (name === 'pg' ? { Client: FakeClient, Pool: FakeClient } : undefined) },
    )
    try {
      assert.deepEqual(await instance.call('runEveryMinute', []), {
        row: { text: 'SELECT $1', values: [1], host: 'db.example' },
        hostSecret: 'undefined',
        config: 'undefined',
      })
    } finally {
      instance.dispose()
    }
  })

  it('reports a module the host loader does not supply as not installed', async () => {
    const error = await rejection(loadCode(`import pg from 'pg'\nexport function processEvent(e) { return pg ? e : e }`, { loadHostModule: () => undefined }))
    assert.match(error.message, /module pg is not installed on this server/)
  })
})
