import assert from 'node:assert/strict'
import { createTeam } from '@plugin-server/db'
import { freePort } from '@plugin-server/dev-services'
import { PostHog } from 'posthog-node'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { enablePlugin, managementContext } from '../harness/plugins'
import { FakeSnowflake, PROCESS_WIDE_LOGIN_PARAMETERS, startFakeSnowflake } from '../harness/snowflake-server'

const exportConfig = (accessUrl: string) => ({
  account: 'acct',
  accessUrl,
  username: 'exporter',
  password: 'snowflake-password-not-for-logs',
  database: 'analytics',
  table: 'events',
  awsAccessKeyId: 'stage-key',
  awsSecretAccessKey: 'stage-secret',
})

describe('a Snowflake export plugin written like PostHog’s (snowflake-sdk and aws-sdk) in the running fleet', function () {
  this.timeout(180_000)
  let fleet: TestFleet
  let snowflake: FakeSnowflake | undefined
  let port: number
  let configId: number

  before(async () => {
    // Snowflake is not there yet: the port is free and closed.
    port = await freePort()
    fleet = await createTestFleet({ PLUGIN_FETCH_ALLOWED_HOSTS: '127.0.0.1', TIME_SCALE: '10' })
    const management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
    const config = await enablePlugin(management, fleet.team.id, 'snowflake-export', exportConfig(`http://127.0.0.1:${port}`))
    configId = config.id
    await management.close()
    await fleet.start('capture')
    await fleet.start('ingest-worker')
    await fleet.start('exporter', { EXPORT_BUFFER_MAX_AGE_MS: '300', EXPORT_FLUSH_INTERVAL_MS: '50' })
  })
  after(async () => {
    await fleet?.close()
    await snowflake?.close()
  })

  const logs = async () =>
    (
      await fleet.db.pool.query<{ source: string; type: string; message: string; instance_id: string }>(
        'SELECT source, type, message, instance_id FROM plugin_log_entries WHERE plugin_config_id = $1 ORDER BY id',
        [configId],
      )
    ).rows

  /** Plugins are set up (and set up again) on use: events keep coming until `done` holds. */
  async function captureUntil<T>(what: string, label: string, check: () => Promise<T>, done: (value: T) => boolean, token = fleet.team.api_token): Promise<T> {
    const client = new PostHog(token, { host: fleet.captureUrl, flushAt: 1, flushInterval: 0 })
    let n = 0
    const timer = setInterval(() => client.capture({ distinctId: `${label}-${n}`, event: label, properties: { n: n++ } }), 300)
    try {
      return await eventually(what, check, done, 60_000)
    } finally {
      clearInterval(timer)
      await client.shutdown()
    }
  }

  it('fails setupPlugin with the SDK’s error in the plugin logs and retries it on the setup schedule', async () => {
    const failing = await captureUntil('two failed setup attempts in one role', 'while-down', logs, (rows) =>
      rows.some((r) => /setupPlugin failed with RetryError \(attempt 2 of 10\), retrying in \d+ s/.test(r.message)),
    )
    assert.ok(
      failing.some((r) => r.source === 'CONSOLE' && /Error connecting to Snowflake: NetworkError: connect ECONNREFUSED 127\.0\.0\.1:\d+/.test(r.message)),
      'the plugin logged the SDK error by name',
    )
    assert.ok(
      failing.some((r) => /snowflake-sdk error: .*connection failed.*ECONNREFUSED/.test(r.message)),
      'the SDK’s own logger writes into the plugin logs',
    )
    assert.ok(
      failing.some((r) => r.source === 'SYSTEM' && r.type === 'WARN' && /attempt 1 of 10.*Snowflake unreachable: connect ECONNREFUSED/.test(r.message)),
      'the setup retry names the error',
    )
  })

  it('sets up once Snowflake answers, and inserts each event exported from then on exactly once, with binds', async () => {
    snowflake = await startFakeSnowflake(port)
    // Only the exporter sets it up: the ingest worker reads from the version row that the plugin exports, without loading it.
    await captureUntil(
      'set up in the exporter',
      'coming-up',
      logs,
      (rows) => new Set(rows.filter((r) => r.source === 'SYSTEM' && /plugin loaded/.test(r.message)).map((r) => r.instance_id)).size === 1,
    )
    const client = new PostHog(fleet.team.api_token, { host: fleet.captureUrl, flushAt: 5, flushInterval: 50 })
    for (let i = 0; i < 5; i++) client.capture({ distinctId: `sf-user-${i}`, event: 'snowflake export', properties: { n: i } })
    await client.shutdown()
    const bound = await eventually(
      'the events inserted',
      async () => JSON.stringify(snowflake!.queries.filter((q) => q.sqlText.startsWith('INSERT INTO events')).map((q) => q.bindings)),
      (text) => text.match(/snowflake export/g)?.length === 5,
      60_000,
    )
    const stored = await fleet.db.pool.query<{ uuid: string }>("SELECT uuid FROM events WHERE team_id = $1 AND event = 'snowflake export'", [fleet.team.id])
    assert.equal(stored.rows.length, 5)
    for (const { uuid } of stored.rows) assert.equal(bound.split(uuid).length - 1, 1, `${uuid} inserted exactly once`)
    assert.ok(!(await logs()).some((r) => r.message.includes('snowflake-password-not-for-logs')), 'the password never reaches the plugin logs')
  })
  it("keeps this team's connections as they were when another team's Snowflake answers its login with parameters the SDK would apply to every connection in the exporter", async () => {
    const theirs = await startFakeSnowflake(0, { loginParameters: PROCESS_WIDE_LOGIN_PARAMETERS })
    try {
      const other = await createTeam(fleet.db.pool, 'another Snowflake team')
      const management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
      await enablePlugin(management, other.id, 'snowflake-export', exportConfig(theirs.url))
      await management.close()
      await captureUntil(
        'the other team logged in to its Snowflake',
        'theirs',
        async () => theirs.logins,
        (n) => n > 0,
        other.api_token,
      )
      const inserts = () => snowflake!.queries.filter((q) => q.sqlText.startsWith('INSERT INTO events')).length
      const before = inserts()
      await captureUntil(
        "this team's next events inserted",
        'ours-after',
        async () => inserts(),
        (n) => n > before,
      )
      assert.deepEqual(snowflake!.serviceHeaders, [], "no request to this team's Snowflake carried the other server's X-Snowflake-Service")
      assert.equal(snowflake!.heartbeats, 0, "no keep-alive heartbeats the other server's answer turned on")
    } finally {
      await theirs.close()
    }
  })
})
