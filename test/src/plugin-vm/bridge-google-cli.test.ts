import assert from 'assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import { BigQueryServer } from '../harness/bigquery-server'
import { runCli } from '../harness/processes'
import { TEST_SECURITY_ENV } from '../harness/security-env'
import { fixture } from './helpers'

interface RunOutput {
  event: { properties: Record<string, unknown> } | null
  console: { level: string; message: string }[]
  errors: { stage: string; message: string }[]
}

describe('plugin-vm: plugins importing the Google Cloud SDKs in `plugin-server plugin run`', function () {
  this.timeout(60_000)
  let tmp: string
  let google: BigQueryServer
  let eventFile: string
  let keyFile: string

  before(async () => {
    google = new BigQueryServer()
    await google.start()
    tmp = mkdtempSync(join(tmpdir(), 'google-run-'))
    eventFile = join(tmp, 'event.json')
    keyFile = join(tmp, 'key.json')
    writeFileSync(eventFile, JSON.stringify({ uuid: 'cli-1', event: 'signed up', distinct_id: 'u1', team_id: 1, properties: { plan: 'pro' } }))
    writeFileSync(keyFile, google.keyJson())
  })
  after(async () => {
    rmSync(tmp, { recursive: true, force: true })
    await google.close()
  })

  async function run(plugin: string, config: string[]): Promise<RunOutput> {
    const args = ['plugin', 'run', fixture(plugin), '--event', eventFile, '--attachment', `googleCloudKeyJson=${keyFile}`]
    const { code, stdout, stderr } = await runCli([...args, ...config.flatMap((c) => ['--config', c])], TEST_SECURITY_ENV)
    assert.equal(code, 0, stderr)
    return JSON.parse(stdout) as RunOutput
  }

  it('loads all three SDKs and makes a client of each from the key attachment', async () => {
    const out = await run('bigquery-gcs-pubsub-probe', [])
    assert.deepEqual(out.errors, [])
    assert.deepEqual(out.event?.properties.google, { bigquery: 'events', gcs: 'day/batch.csv', pubsub: 'projects/stand-in-project/topics/events' })
  })

  it('exports the event into the BigQuery stand-in, creating the table on setup', async () => {
    const out = await run('bigquery-export', ['datasetId=cli', 'tableId=events', `apiEndpoint=${google.url}`])
    assert.deepEqual(out.errors, [])
    assert.deepEqual(
      google.rowsOf('stand-in-project:cli.events').map((r) => [r.uuid, r.event]),
      [['cli-1', 'signed up']],
    )
    assert.ok(out.console.some((c) => c.message.includes('Creating BigQuery Table - cli:events')))
  })

  it('uploads the event as a CSV object through file.createWriteStream', async () => {
    const out = await run('gcs-export', ['bucketName=cli-bucket', `apiEndpoint=${google.url}`])
    assert.deepEqual(out.errors, [])
    const object = google.objects.find((o) => o.bucket === 'cli-bucket')
    assert.ok(object?.body.includes('cli-1,signed up,'), 'the CSV line of the event was uploaded')
  })
})
