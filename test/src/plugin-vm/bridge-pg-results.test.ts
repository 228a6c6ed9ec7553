import assert from 'node:assert/strict'
import { loadCode } from './helpers'

/**
 * What a Postgres server sends a plugin's pg client is bounded before pg holds it
 * (bridge/pg-result-bound.ts): the rows of a query count against the bytes the instance's
 * responses being read may hold together (maxFetchBytes), against the test Postgres.
 */
describe('plugin-vm: pg query results a plugin receives', function () {
  this.timeout(60_000)
  /** The test Postgres (set by the global fixture once the run has started). */
  const options = () => {
    const url = new URL(process.env.DATABASE_URL!)
    return `{ host: '127.0.0.1', port: ${url.port}, user: '${url.username}', password: '${decodeURIComponent(url.password) || 'x'}', database: '${url.pathname.slice(1)}' }`
  }
  const load = (body: string) =>
    loadCode(
      `import { Client, Pool } from 'pg'
      const options = ${options()}
      const outcome = (p) => p.then((r) => r.rows.length, (e) => e.message)
      export async function runEveryMinute() { ${body} }`,
      {},
      { fetchAllowedHosts: ['127.0.0.0/8'], maxFetchBytes: 4 * 1024 * 1024 },
    )
  const stopped = "pg: a query result stopped: this plugin's responses being read hold over 4194304 bytes together, the limit of one response body"

  it('stops a query whose rows pass maxFetchBytes together, on a client and a pool’s; one within it, and those after it, arrive whole', async () => {
    const { instance } = await load(`
      const rows = (n) => "SELECT repeat('x', 1000) AS r FROM generate_series(1, " + n + ')'
      const client = new Client(options)
      await client.connect()
      const small = await outcome(client.query(rows(3000)))
      const again = await outcome(client.query(rows(3000)))
      const big = await outcome(client.query(rows(6000)))
      await client.end().catch(() => undefined)
      const pool = new Pool(options)
      const pooled = [await outcome(pool.query(rows(6000))), await outcome(pool.query(rows(3000)))]
      await pool.end()
      return [small, again, big, ...pooled]`)
    try {
      // 3 000 rows of ~1 kB are ~3 MB, within 4 MiB; 6 000 are not. The stopped connection is gone; the pool makes a new one.
      assert.deepEqual(await instance.call('runEveryMinute', []), [3000, 3000, stopped, stopped, 3000])
    } finally {
      instance.dispose()
    }
  })

  it('stops a 300 MB field before pg parses it: as text (600 MB of hex) pg threw from its socket handler, ending the worker for every team', async () => {
    const { instance } = await load(`
      const client = new Client(options)
      await client.connect()
      try {
        return await outcome(client.query("SELECT convert_to(repeat('x', 300 * 1024 * 1024), 'UTF8') AS big"))
      } finally {
        await client.end().catch(() => undefined)
      }`)
    try {
      assert.equal(await instance.call('runEveryMinute', []), stopped)
    } finally {
      instance.dispose()
    }
  })
})
