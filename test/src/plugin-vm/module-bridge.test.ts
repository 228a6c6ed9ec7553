import assert from 'assert/strict'
import { randomBytes } from 'crypto'
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

  it('refuses host internals through bridged objects', async () => {
    const { instance } = await loadCode(`
            import { Client } from 'pg'
            export function runEveryMinute() {
                const out = {}
                const tries = {
                    ctor: () => Client.constructor,
                    proto: () => Client.prototype,
                    ctorCall: () => new Client({}).constructor.constructor('return process')(),
                    priv: () => new Client({})._connecting,
                }
                for (const [k, f] of Object.entries(tries)) {
                    try { out[k] = 'got ' + typeof f() } catch (e) { out[k] = e.message }
                }
                return out
            }`)
    try {
      const out = (await instance.call('runEveryMinute', [])) as Record<string, string>
      assert.match(out.ctor, /property constructor of a bridged module is not accessible/)
      assert.match(out.ctorCall, /property constructor of a bridged module is not accessible/)
      assert.match(out.priv, /property _connecting of a bridged module is not accessible/)
      assert.ok(!String(out.proto).startsWith('got object'), out.proto)
    } finally {
      instance.dispose()
    }
  })

  for (const name of ['snowflake-sdk', 'aws-sdk', '@google-cloud/bigquery', '@google-cloud/pubsub', '@google-cloud/storage']) {
    it(`reports ${name} as not installed on this server`, async () => {
      const error = await rejection(loadCode(`import * as sdk from '${name}'\nexport function processEvent(e) { return sdk ? e : e }`))
      assert.match(error.message, new RegExp(`module ${name.replace('/', '\\/')} is not installed on this server`))
    })
  }

  it('uses the host-provided module loader when given (e.g. for a fake SDK)', async () => {
    class FakeBigQuery {
      constructor(readonly options: { projectId: string }) {}
      dataset(name: string) {
        return { table: (t: string) => ({ insert: async (rows: unknown[]) => ({ inserted: rows.length, at: `${this.options.projectId}.${name}.${t}` }) }) }
      }
    }
    const { instance } = await loadCode(
      `
            import { BigQuery } from '@google-cloud/bigquery'
            export async function exportEvents(events) {
                const bq = new BigQuery({ projectId: 'p' })
                return await bq.dataset('d').table('t').insert(events)
            }`,
      { loadHostModule: (name) => (name === '@google-cloud/bigquery' ? { BigQuery: FakeBigQuery } : undefined) },
    )
    try {
      assert.deepEqual(await instance.call('exportEvents', [[{ event: 'a' }, { event: 'b' }]]), { inserted: 2, at: 'p.d.t' })
    } finally {
      instance.dispose()
    }
  })
})
