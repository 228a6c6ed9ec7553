import assert from 'assert/strict'
import fs from 'fs'
import path from 'path'
import { eventually } from '../harness/fleet'
import { PROCESS_WIDE_LOGIN_PARAMETERS, startFakeSnowflake } from '../harness/snowflake-server'
import { loadCode } from './helpers'

const connect = (accessUrl: string, retries = 0) => `
  const connection = snowflake.createConnection({ account: 'acct', username: 'u', password: 'p', accessUrl: '${accessUrl}', sfRetryMaxLoginRetries: ${retries} })
  const connectError = await new Promise((resolve) => connection.connect((err) => resolve(err ? { name: err.name, code: err.code, message: err.message } : null)))`

describe('plugin-vm: snowflake-sdk through the capability bridge', function () {
  this.timeout(60_000)

  it('connects, executes with binds and a complete callback (statement and rows), and destroys the connection', async () => {
    const fake = await startFakeSnowflake()
    const { instance } = await loadCode(`
      import * as snowflake from 'snowflake-sdk'
      export async function runEveryMinute() {
        ${connect(fake.url)}
        if (connectError) return connectError
        const result = await new Promise((resolve, reject) =>
          connection.execute({
            sqlText: 'SELECT ? AS n',
            binds: [7],
            complete: (err, stmt, rows) => (err ? reject(err) : resolve({ rows, sql: stmt.getSqlText(), queryId: stmt.getQueryId() })),
          }))
        await new Promise((resolve, reject) => connection.destroy((err) => (err ? reject(err) : resolve())))
        return { ...result, id: typeof connection.getId() }
      }`)
    try {
      assert.deepEqual(await instance.call('runEveryMinute', []), { rows: [{ N: 7 }], sql: 'SELECT ? AS n', queryId: 'q-1', id: 'string' })
      assert.deepEqual(fake.queries[0], { sqlText: 'SELECT ? AS n', bindings: { '1': { type: 'FIXED', value: '7' } } })
    } finally {
      instance.dispose()
      await fake.close()
    }
  })

  it("keeps the SDK's process-wide parameters at their defaults: what one plugin's server answers at login changes nothing for another plugin's connections", async () => {
    // A server of the plugin's own choosing answers its login with parameters the SDK applies to every connection in the process.
    const hostile = await startFakeSnowflake(0, { loginParameters: PROCESS_WIDE_LOGIN_PARAMETERS })
    const healthy = await startFakeSnowflake()
    const plugin = (url: string) => `
      import * as snowflake from 'snowflake-sdk'
      export async function runEveryMinute() {
        ${connect(url)}
        if (connectError) return connectError
        const rows = await new Promise((resolve, reject) =>
          connection.execute({ sqlText: 'SELECT 7 AS n', complete: (err, stmt, rows) => (err ? reject(err) : resolve(rows)) }))
        return { rows, type: typeof rows[0].N }
      }`
    const attacker = (await loadCode(plugin(hostile.url))).instance
    const neighbour = (await loadCode(plugin(healthy.url))).instance
    try {
      await attacker.call('runEveryMinute', [])
      assert.deepEqual(await neighbour.call('runEveryMinute', []), { rows: [{ N: 7 }], type: 'number' }, "the neighbour's query answers as before")
      assert.deepEqual(healthy.serviceHeaders, [], "no X-Snowflake-Service header of the other server's choosing")
      // A heartbeat a second would have come within the wait had the other server's keep-alive been applied.
      await new Promise((resolve) => setTimeout(resolve, 1500))
      assert.equal(healthy.heartbeats, 0, 'no keep-alive heartbeats the other server turned on')
      assert.equal(hostile.heartbeats, 0, 'nor on its own connection')
    } finally {
      attacker.dispose()
      neighbour.dispose()
      await hostile.close()
      await healthy.close()
    }
  })

  it('logs out of a connection the plugin left open when its isolate is disposed', async () => {
    const fake = await startFakeSnowflake()
    const { instance } = await loadCode(`
      import snowflake from 'snowflake-sdk'
      export async function runEveryMinute() {
        ${connect(fake.url)}
        return connectError
      }`)
    try {
      assert.equal(await instance.call('runEveryMinute', []), null)
      assert.equal(fake.logouts, 0)
      instance.dispose()
      await eventually(
        'logged out',
        async () => fake.logouts,
        (n) => n === 1,
      )
    } finally {
      instance.dispose()
      await fake.close()
    }
  })

  it('logs out of every pooled session when its isolate is disposed, the borrowed one the plugin never released and the idle ones', async () => {
    const fake = await startFakeSnowflake()
    const { instance } = await loadCode(`
      import snowflake from 'snowflake-sdk'
      export async function runEveryMinute() {
        const pool = snowflake.createPool({ account: 'acct', username: 'u', password: 'p', accessUrl: '${fake.url}' }, { min: 3, max: 4 })
        await pool.acquire()
        return { borrowed: pool.borrowed }
      }`)
    try {
      assert.deepEqual(await instance.call('runEveryMinute', []), { borrowed: 1 })
      await eventually(
        'the pool filled to its minimum',
        async () => fake.logins,
        (n) => n >= 3,
      )
      instance.dispose()
      await eventually(
        'logged out of every session',
        async () => fake.logins - fake.logouts,
        (n) => n === 0,
      )
    } finally {
      instance.dispose()
      await fake.close()
    }
  })

  it('refuses PUT and GET (they read and write files on the server), options outside the allowlist, and PrivateLink hosts, and says with a warning that configure(), keep-alive heartbeats, BigInt integers and representNullAsStringNull are ignored', async () => {
    const { host, instance } = await loadCode(`
      import snowflake from 'snowflake-sdk'
      export function runEveryMinute() {
        snowflake.configure({ insecureConnect: true })
        const attempt = (fn) => { try { fn(); return 'accepted' } catch (e) { return e.message } }
        const connection = snowflake.createConnection({ account: 'acct', username: 'u', password: 'p', clientSessionKeepAlive: true, jsTreatIntegerAsBigInt: true })
        return [
          attempt(() => connection.execute({ sqlText: " put file:///etc/passwd @stage" })),
          attempt(() => connection.execute({ sqlText: 'GET @stage file:///tmp/' })),
          attempt(() => snowflake.createConnection({ account: 'a', username: 'u', privateKeyPath: '/etc/ssl/key.pem' })),
          attempt(() => snowflake.createConnection({ account: 'a', username: 'u', authenticator: 'EXTERNALBROWSER' })),
          attempt(() => connection.execute({ sqlText: 'SELECT 1', fileStream: 'x' })),
          attempt(() => snowflake.createConnection({ account: 'xy12345.us-east-1.privatelink', username: 'u', password: 'p' })),
          attempt(() => snowflake.createConnection({ account: 'a', username: 'u', password: 'p', accessUrl: 'https://xy12345.PrivateLink.snowflakecomputing.com' })),
          attempt(() => snowflake.createConnection({ account: 'a', username: 'u', password: 'p', representNullAsStringNull: false }) && 'accepted'),
        ]
      }`)
    try {
      const out = (await instance.call('runEveryMinute', [])) as string[]
      assert.match(out[0], /snowflake-sdk\.Connection\.execute: PUT statements are not available to plugins/)
      assert.match(out[1], /GET statements are not available to plugins/)
      assert.match(out[2], /snowflake-sdk\.createConnection: option "privateKeyPath" is not available to plugins/)
      assert.match(out[3], /option "authenticator" must be one of SNOWFLAKE, SNOWFLAKE_JWT, OAUTH/)
      assert.match(out[4], /execute option "fileStream" is not available to plugins/)
      assert.match(out[5], /option "account" names a PrivateLink host, which is not available to plugins: the SDK would send every plugin's certificate checks/)
      assert.match(out[6], /option "accessUrl" names a PrivateLink host/)
      assert.equal(out[7], 'accepted')
      assert.equal(process.env.SF_OCSP_RESPONSE_CACHE_SERVER_URL, undefined, "no connection pointed the worker's OCSP checks anywhere")
      // The SDK's module as the bridge loaded it, in this process: the option did not reach its one value for every connection.
      const dataTypes = require(path.join(path.dirname(require.resolve('snowflake-sdk')), 'lib/connection/result/data_types')) as { getNullValue(): unknown }
      assert.equal(dataTypes.getNullValue(), 'NULL', "representNullAsStringNull did not change every plugin's NULLs")
      assert.ok(
        host.logs.some((l) => /snowflake-sdk: representNullAsStringNull is ignored/.test(l.message)),
        'and the plugin is told',
      )
      assert.ok(host.logs.some((l) => /snowflake-sdk: configure\(\) is ignored/.test(l.message)))
      assert.ok(
        host.logs.some((l) => /snowflake-sdk: clientSessionKeepAlive reaches Snowflake as the session's parameter, but no heartbeats are sent/.test(l.message)),
        'a keep-alive the plugin asked for is said to send no heartbeats',
      )
      assert.ok(
        host.logs.some((l) => /snowflake-sdk: jsTreatIntegerAsBigInt has no effect here .* fetchAsString: \['Number'\]/.test(l.message)),
        'so is BigInt for integers, with what to use instead',
      )
    } finally {
      instance.dispose()
    }
  })

  describe('the address policy, with the SDK error in the plugin logs and no snowflake.log on the server', () => {
    const run = (accessUrl: string, retries = 0) => `
      import snowflake from 'snowflake-sdk'
      export async function runEveryMinute() {
        ${connect(accessUrl, retries)}
        return connectError
      }`

    it('refuses 169.254.169.254 and 127.0.0.1, and lets PLUGIN_FETCH_ALLOWED_HOSTS allow loopback', async () => {
      const metadata = await loadCode(run('http://169.254.169.254'), {}, { fetchAllowedHosts: [] })
      const loopback = await loadCode(run('http://127.0.0.1:9'), {}, { fetchAllowedHosts: [] })
      const allowed = await loadCode(run('http://127.0.0.1:9'), {}, { fetchAllowedHosts: ['127.0.0.1'] })
      try {
        const [m, l, a] = (await Promise.all([metadata, loopback, allowed].map((p) => p.instance.call('runEveryMinute', [])))) as Record<string, string>[]
        assert.match(m.message, /fetch refused: snowflake-sdk: 169\.254\.169\.254 is a link-local \(cloud metadata\) address/)
        assert.match(
          l.message,
          /fetch refused: snowflake-sdk: 127\.0\.0\.1 is a loopback address \(operators can allow internal hosts with PLUGIN_FETCH_ALLOWED_HOSTS\)/,
        )
        assert.match(a.message, /connect ECONNREFUSED 127\.0\.0\.1:9/)
        assert.equal(m.name, 'NetworkError')
        assert.ok(
          loopback.host.logs.some((entry) => /snowflake-sdk error: .*connection failed.*fetch refused/.test(entry.message)),
          'the SDK logs the failure into the plugin logs',
        )
        assert.equal(fs.existsSync('snowflake.log'), false)
      } finally {
        for (const p of [metadata, loopback, allowed]) p.instance.dispose()
      }
    })

    it('refuses the SDK’s login retry too: its timers run in the scope of the call that started them', async () => {
      const { instance } = await loadCode(run('http://169.254.169.254', 1), {}, { fetchAllowedHosts: [] })
      try {
        const out = (await instance.call('runEveryMinute', [])) as Record<string, string>
        assert.match(out.message, /fetch refused: snowflake-sdk: 169\.254\.169\.254 is a link-local/)
      } finally {
        instance.dispose()
      }
    })
  })
})
