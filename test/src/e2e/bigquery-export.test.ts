import assert from 'node:assert/strict'
import path from 'node:path'
import { createConfig, installPluginFromPath } from '@plugin-server/management'
import { BigQueryServer } from '../harness/bigquery-server'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { pluginLogMessages, sendEvents } from '../harness/fleet-io'
import { FIXTURES, managementContext } from '../harness/plugins'

const TABLE = 'stand-in-project:analytics.events'

/** A fleet (capture, ingest-worker, exporter) and the fixture enabled with a key whose token_uri is the stand-in. */
async function startFleet(google: BigQueryServer, env: Record<string, string> = {}): Promise<{ fleet: TestFleet; configId: number }> {
  const fleet = await createTestFleet({ TIME_SCALE: '1000', EXPORT_BUFFER_MAX_AGE_MS: '200', EXPORT_FLUSH_INTERVAL_MS: '50', ...env })
  const ctx = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
  try {
    const installed = await installPluginFromPath(ctx, path.join(FIXTURES, 'bigquery-export'))
    const config = await createConfig(ctx, {
      teamId: fleet.team.id,
      plugin: installed.plugin.id,
      enabled: true,
      config: { datasetId: 'analytics', tableId: 'events', apiEndpoint: google.url, exportEventsToIgnore: '' },
      attachments: [{ key: 'googleCloudKeyJson', file_name: 'key.json', content_type: 'application/json', contents: Buffer.from(google.keyJson()) }],
    })
    await fleet.start('capture')
    await fleet.start('ingest-worker')
    await fleet.start('exporter')
    return { fleet, configId: config.id }
  } finally {
    await ctx.close()
  }
}

describe('BigQuery export: a plugin importing @google-cloud/bigquery, through the running fleet, to a local BigQuery stand-in', function () {
  this.timeout(120_000)
  let google: BigQueryServer
  let fleet: TestFleet | undefined

  beforeEach(async () => {
    google = new BigQueryServer()
    await google.start()
  })
  afterEach(async () => {
    await fleet?.close()
    fleet = undefined
    await google.close()
  })

  it('creates the table on setup and inserts every captured event once, authenticated with the key from the attachment', async () => {
    let configId: number
    ;({ fleet, configId } = await startFleet(google))
    const uuids = await sendEvents(fleet, 40, 'export', 7)
    const rows = await eventually(
      'rows in the stand-in',
      async () => google.rowsOf(TABLE),
      (r) => r.length >= uuids.length,
      60_000,
    )
    assert.deepEqual(rows.map((r) => r.uuid).sort(), [...uuids].sort(), 'every event inserted exactly once')
    const first = rows.find((r) => r.uuid === uuids[0])!
    assert.equal(first.team_id, fleet.team.id)
    assert.deepEqual(JSON.parse(first.properties as string).seq, 0)
    const table = google.tables.get(TABLE) as { schema: { fields: { name: string }[] }; timePartitioning: unknown }
    assert.deepEqual(
      table.schema.fields.map((f) => f.name),
      ['uuid', 'event', 'properties', 'distinct_id', 'team_id', 'timestamp', 'bq_ingested_timestamp'],
    )
    assert.deepEqual(table.timePartitioning, { type: 'DAY', field: 'timestamp' })
    assert.ok(google.tokensIssued >= 1, 'the access token came from the key file token_uri (the stand-in)')
    assert.ok(
      google.requests.every((r) => r.status !== 401),
      'every API call carried the issued token',
    )
    // Plugin logs reach Postgres in batches, after the rows may have.
    const logs = await eventually(
      'setupPlugin logged that it created the table',
      () => pluginLogMessages(fleet!, configId),
      (l) => l.some((line) => line.includes('Creating BigQuery Table - analytics:events')),
    )
    assert.ok(!logs.some((l) => l.includes('PRIVATE KEY')), 'the key never appears in the logs')
  })

  it('turns a 503 from BigQuery into RetryError and delivers the batch on retry, each event exactly once', async () => {
    google.tables.set(TABLE, { id: TABLE, schema: { fields: [] } })
    google.failInserts(2)
    let configId: number
    ;({ fleet, configId } = await startFleet(google))
    const uuids = await sendEvents(fleet, 25, 'retry', 7)
    const rows = await eventually(
      'rows in the stand-in after the retries',
      async () => google.rowsOf(TABLE),
      (r) => r.length >= uuids.length,
      60_000,
    )
    // The stand-in stores nothing when it answers 503, and the exporter re-sends the same batch: exactly once
    // here. Against real BigQuery, an insert whose answer is lost may have been stored (the plugin sends no
    // insertId, as PostHog's does not), so a retry makes delivery at least once.
    assert.deepEqual(rows.map((r) => r.uuid).sort(), [...uuids].sort(), 'every event inserted exactly once')
    const inserts = google.requests.filter((r) => r.path.endsWith('/insertAll')).map((r) => r.status)
    assert.deepEqual(inserts.slice(0, 2), [503, 503], 'the first two inserts were refused')
    assert.ok(inserts.slice(2).every((s) => s === 200))
    const running = fleet
    await eventually(
      'the plugin logged the code and the errors of the 503',
      () => pluginLogMessages(running, configId),
      (logs) => logs.some((l) => l.includes('(code 503)') && l.includes('backendError')),
    )
  })

  it('loads a plugin importing all three Google SDKs in an ingest worker: every stored event carries what its clients named', async () => {
    fleet = await createTestFleet()
    const ctx = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
    try {
      const installed = await installPluginFromPath(ctx, path.join(FIXTURES, 'bigquery-gcs-pubsub-probe'))
      await createConfig(ctx, {
        teamId: fleet.team.id,
        plugin: installed.plugin.id,
        enabled: true,
        attachments: [{ key: 'googleCloudKeyJson', file_name: 'key.json', content_type: 'application/json', contents: Buffer.from(google.keyJson()) }],
      })
    } finally {
      await ctx.close()
    }
    await fleet.start('capture')
    await fleet.start('ingest-worker')
    const uuids = await sendEvents(fleet, 5, 'probe', 7)
    const running = fleet
    const rows = await eventually(
      'stored events',
      async () => (await running.db.pool.query<{ uuid: string; properties: { google?: unknown } }>('SELECT uuid, properties FROM events')).rows,
      (r) => r.length >= uuids.length,
      60_000,
    )
    for (const row of rows) {
      assert.deepEqual(row.properties.google, { bigquery: 'events', gcs: 'day/batch.csv', pubsub: 'projects/stand-in-project/topics/events' })
    }
    assert.equal(google.requests.length, 0, 'making clients needs no network')
  })

  it('refuses the stand-in on loopback when PLUGIN_FETCH_ALLOWED_HOSTS does not list it, naming the address in the plugin logs', async () => {
    let configId: number
    ;({ fleet, configId } = await startFleet(google, { PLUGIN_FETCH_ALLOWED_HOSTS: '' }))
    await sendEvents(fleet, 3, 'refused', 7)
    const running = fleet
    await eventually(
      'the refusal in the plugin logs',
      () => pluginLogMessages(running, configId),
      (logs) => logs.some((l) => l.includes('fetch refused: @google-cloud/bigquery: 127.0.0.1 is a loopback address')),
      60_000,
    )
    assert.equal(google.requests.length, 0, 'nothing reached the stand-in')
  })
})
