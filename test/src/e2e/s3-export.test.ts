import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { createTeam } from '@plugin-server/db'
import { PostHog } from 'posthog-node'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { enablePlugin, FIXTURES, managementContext } from '../harness/plugins'
import { runCli } from '../harness/processes'
import { gzippedJsonLines, startS3Server, S3_TEST_CREDENTIALS, TestS3Server } from '../harness/s3-server'

const BUCKET = 'posthog-events'

interface Exported {
  uuid: string
  event: string
  distinct_id: string
  team_id: number
  properties: Record<string, unknown>
}

describe('an S3 export plugin written like PostHog’s (aws-sdk v2) exports through the running fleet', function () {
  this.timeout(180_000)
  let fleet: TestFleet
  let s3: TestS3Server
  let configId: number

  before(async () => {
    // No bucket yet: the first uploads fail, and the plugin's RetryError has the exporter try again.
    s3 = await startS3Server([])
    fleet = await createTestFleet({ PLUGIN_FETCH_ALLOWED_HOSTS: '127.0.0.1' })
    const management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
    const config = await enablePlugin(management, fleet.team.id, 's3-export', {
      awsAccessKey: S3_TEST_CREDENTIALS.accessKeyId,
      awsSecretAccessKey: S3_TEST_CREDENTIALS.secretAccessKey,
      s3BucketName: BUCKET,
      s3BucketEndpoint: s3.endpoint,
      s3ForcePathStyle: 'true',
      prefix: 'exports/',
    })
    configId = config.id
    await management.close()
    await fleet.start('capture')
    await fleet.start('ingest-worker')
    await fleet.start('exporter', { EXPORT_BUFFER_MAX_AGE_MS: '300', EXPORT_FLUSH_INTERVAL_MS: '50' })
  })
  after(async () => {
    await fleet?.close()
    await s3?.stop()
  })

  const logs = async () =>
    (await fleet.db.pool.query<{ message: string }>('SELECT message FROM plugin_log_entries WHERE plugin_config_id = $1 ORDER BY id', [configId])).rows.map(
      (r) => r.message,
    )

  it('uploads every captured event exactly once as gzip’d JSON lines, after retrying the uploads that failed', async () => {
    const client = new PostHog(fleet.team.api_token, { host: fleet.captureUrl, flushAt: 10, flushInterval: 50 })
    const count = 40
    for (let i = 0; i < count; i++) client.capture({ distinctId: `s3-user-${i % 4}`, event: 's3 export', properties: { n: i } })
    await client.shutdown()

    await eventually('a failed upload in the plugin logs', logs, (messages) =>
      messages.some((m) => /Error uploading to S3: The specified bucket does not exist/.test(m)),
    )
    await fetch(`${s3.endpoint}/${BUCKET}`, { method: 'PUT' })

    const exported = await eventually(
      'every event in the bucket',
      async () => gzippedJsonLines((await s3.objects(BUCKET)).values()) as Exported[],
      (events) => events.length >= count,
      60_000,
    )
    const stored = await fleet.db.pool.query<{ uuid: string }>('SELECT uuid FROM events WHERE team_id = $1', [fleet.team.id])
    assert.equal(stored.rows.length, count)
    assert.deepEqual(exported.map((e) => e.uuid).sort(), stored.rows.map((r) => r.uuid).sort(), 'each stored event exported exactly once')
    assert.deepEqual(
      exported.map((e) => e.properties.n).sort((a, b) => Number(a) - Number(b)),
      Array.from({ length: count }, (_, i) => i),
    )
    assert.ok(exported.every((e) => e.event === 's3 export' && e.team_id === fleet.team.id))
    const keys = [...(await s3.objects(BUCKET)).keys()]
    assert.ok(
      keys.every((k) => /^exports\/\d{4}-\d{2}-\d{2}\/.*\.jsonl\.gz$/.test(k)),
      keys.join(', '),
    )

    // Plugin logs are written in batches: the line may trail the upload a little.
    const messages = await eventually('the upload in the plugin logs', logs, (all) => all.some((m) => /Uploaded \d+ events? to bucket posthog-events/.test(m)))
    assert.ok(!messages.some((m) => m.includes(S3_TEST_CREDENTIALS.secretAccessKey)), 'the secret key never reaches the plugin logs')
  })

  it("signs another team's uploads to a bucket of the same name for that team's own region, whatever region one team's S3 server answers with", async () => {
    // Two S3 stand-ins that record each upload's Authorization; the first also names the bucket's region,
    // as S3 does in x-amz-bucket-region, and aws-sdk v2 caches it by bucket name for the whole process.
    const recorders = await Promise.all(
      [{ 'x-amz-bucket-region': 'eu-hijacked-1' }, {}].map(async (headers) => {
        const authorizations: string[] = []
        const server = http.createServer((req, res) => {
          if (req.method === 'PUT') authorizations.push(String(req.headers.authorization))
          req.resume().once('end', () => res.writeHead(200, { ETag: '"e"', ...headers }).end())
        })
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
        return { server, authorizations, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
      }),
    )
    const [theirs, ours] = recorders
    try {
      const management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
      const teams = []
      for (const [name, recorder] of [
        ['names a region', theirs],
        ['trusts its own', ours],
      ] as const) {
        const team = await createTeam(fleet.db.pool, `S3 team that ${name}`)
        await enablePlugin(management, team.id, 's3-export', {
          awsAccessKey: 'AKIDEXAMPLE',
          awsSecretAccessKey: 'secret',
          s3BucketName: 'same-bucket-name',
          s3BucketEndpoint: recorder.endpoint,
          s3ForcePathStyle: 'true',
        })
        teams.push(team)
      }
      await management.close()
      const send = async (token: string, until: () => boolean) => {
        const client = new PostHog(token, { host: fleet.captureUrl, flushAt: 1, flushInterval: 0 })
        const timer = setInterval(() => client.capture({ distinctId: 'd', event: 'region check' }), 300)
        try {
          await eventually('an upload', async () => until(), Boolean, 60_000)
        } finally {
          clearInterval(timer)
          await client.shutdown()
        }
      }
      await send(teams[0].api_token, () => theirs.authorizations.length > 0)
      const before = ours.authorizations.length
      await send(teams[1].api_token, () => ours.authorizations.length > before)
      for (const authorization of ours.authorizations) assert.match(authorization, /Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/s3\/aws4_request/)
    } finally {
      for (const { server } of recorders) await new Promise((resolve) => (server.closeAllConnections(), server.close(resolve)))
    }
  })
})

describe('plugins importing aws-sdk and snowflake-sdk under `plugin-server plugin run`', function () {
  this.timeout(120_000)
  let s3: TestS3Server
  let tmp: string
  before(async () => {
    s3 = await startS3Server([BUCKET])
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's3-export-run-'))
    fs.writeFileSync(path.join(tmp, 'event.json'), JSON.stringify({ event: 'cli export', distinct_id: 'cli-user', properties: { via: 'cli' } }))
  })
  after(async () => {
    await s3.stop()
    fs.rmSync(tmp, { recursive: true, force: true })
  })

  it('runs the S3 export fixture: setupPlugin makes the client, exportEvents uploads the event', async () => {
    const config = {
      awsAccessKey: S3_TEST_CREDENTIALS.accessKeyId,
      awsSecretAccessKey: S3_TEST_CREDENTIALS.secretAccessKey,
      s3BucketName: BUCKET,
      s3BucketEndpoint: s3.endpoint,
      s3ForcePathStyle: 'true',
    }
    const args = Object.entries(config).flatMap(([k, v]) => ['--config', `${k}=${v}`])
    const { code, stdout, stderr } = await runCli(['plugin', 'run', path.join(FIXTURES, 's3-export'), '--event', path.join(tmp, 'event.json'), ...args], {
      PLUGIN_FETCH_ALLOWED_HOSTS: '127.0.0.1',
    })
    assert.equal(code, 0, stderr)
    assert.deepEqual(JSON.parse(stdout).errors, [])
    const exported = gzippedJsonLines((await s3.objects(BUCKET)).values()) as Exported[]
    assert.deepEqual(
      exported.map((e) => [e.event, e.distinct_id, e.properties.via]),
      [['cli export', 'cli-user', 'cli']],
    )
  })

  it('loads the Snowflake export fixture (snowflake-sdk and aws-sdk) and reports its setup failing with the SDK’s error', async () => {
    const config = {
      account: 'acct',
      accessUrl: 'http://127.0.0.1:9',
      username: 'u',
      password: 'p',
      database: 'd',
      table: 't',
      awsAccessKeyId: 'a',
      awsSecretAccessKey: 'b',
    }
    const args = Object.entries(config).flatMap(([k, v]) => ['--config', `${k}=${v}`])
    const { code, stdout } = await runCli(['plugin', 'run', path.join(FIXTURES, 'snowflake-export'), '--event', path.join(tmp, 'event.json'), ...args], {
      PLUGIN_FETCH_ALLOWED_HOSTS: '127.0.0.1',
    })
    assert.equal(code, 1)
    const out = JSON.parse(stdout) as { errors: { stage: string; message?: string }[]; console: { message: string }[] }
    assert.equal(out.errors[0].stage, 'setupPlugin')
    assert.ok(
      out.console.some((c) => /Error connecting to Snowflake: NetworkError: connect ECONNREFUSED 127\.0\.0\.1:9/.test(c.message)),
      JSON.stringify(out.console),
    )
  })
})
