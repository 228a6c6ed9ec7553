import assert from 'assert/strict'
import { execFileSync } from 'child_process'
import http from 'http'
import net from 'net'
import { gzipSync } from 'zlib'
import { REPO_ROOT } from '../harness/processes'
import { BigQueryServer } from '../harness/bigquery-server'
import { PubSubServer } from '../harness/pubsub-server'
import { SharedByteBudget, SocketCount } from '@plugin-server/plugin-vm'
import { loadCode, loadFixture, rejection } from './helpers'

const LOOPBACK = ['127.0.0.1']

/** A plugin's setup as PostHog's export plugins write it: the client from the key attachment. */
const BIGQUERY_CLIENT = `
  import { BigQuery } from '@google-cloud/bigquery'
  function client(config) {
    const credentials = JSON.parse(config.key)
    return new BigQuery({ projectId: credentials.project_id, credentials, autoRetry: false, apiEndpoint: config.endpoint })
  }
`

describe('plugin-vm: Google Cloud SDKs through the capability bridge', function () {
  this.timeout(30_000)
  let google: BigQueryServer

  beforeEach(async () => {
    google = new BigQueryServer()
    await google.start()
  })
  afterEach(() => google.close())

  describe('@google-cloud/bigquery', () => {
    it('creates a missing table, inserts rows and reads metadata, with a token from the key file token_uri', async () => {
      const { instance } = await loadCode(
        `${BIGQUERY_CLIENT}
        export async function runEveryMinute({ config }) {
          const bigquery = client(config)
          const table = bigquery.dataset('analytics').table('events')
          let missing
          try { await table.getMetadata() } catch (error) { missing = { message: error.message, code: error.code } }
          const [created] = await bigquery.dataset('analytics').createTable('events', { schema: [{ name: 'uuid', type: 'STRING' }], timePartitioning: { type: 'DAY' } })
          const [inserted] = await table.insert([{ json: { uuid: 'a' } }, { json: { uuid: 'b' } }], { raw: true, createInsertId: false, partialRetries: 0 })
          const [metadata, response] = await table.getMetadata()
          const exists = await new Promise((resolve, reject) => created.exists((err, found) => (err ? reject(err) : resolve(found))))
          return { missing, inserted, fields: metadata.schema.fields, response: Object.keys(response), exists, projectId: bigquery.projectId, id: created.id }
        }`,
        { config: { key: google.keyJson('proj-1'), endpoint: google.url } },
        { fetchAllowedHosts: LOOPBACK },
      )
      try {
        const out = (await instance.call('runEveryMinute', [])) as Record<string, unknown>
        assert.deepEqual(out.missing, { message: 'Not found: Table proj-1:analytics.events', code: 404 })
        assert.deepEqual(out.inserted, { kind: 'bigquery#tableDataInsertAllResponse' })
        assert.deepEqual(out.fields, [{ name: 'uuid', type: 'STRING' }])
        assert.ok(!(out.response as string[]).includes('request'), 'the API response is its body, never the HTTP response with its request headers')
        assert.equal(out.exists, true, 'a node-style callback gets (err, ...results)')
        assert.equal(out.projectId, 'proj-1')
        assert.equal(out.id, 'events')
        assert.deepEqual(google.rowsOf('proj-1:analytics.events'), [{ uuid: 'a' }, { uuid: 'b' }])
        assert.ok(google.tokensIssued >= 1, 'the token came from the stand-in named by token_uri')
        assert.ok(
          google.requests.filter((r) => r.path !== '/token').every((r) => r.status !== 401),
          'every API call carried the issued token',
        )
      } finally {
        instance.dispose()
      }
    })

    it('hands a 503 and a partial failure to the plugin as plain errors with code and errors, so it can throw RetryError', async () => {
      google.tables.set('p:d.t', { id: 'p:d.t' })
      const { instance } = await loadCode(
        `${BIGQUERY_CLIENT}
        import { RetryError } from '@posthog/plugin-scaffold'
        export async function exportEvents(events, { config }) {
          try {
            await client(config).dataset('d').table('t').insert(events.map(({ uuid, invalid }) => ({ json: invalid ? { uuid, invalid } : { uuid } })), { raw: true })
          } catch (error) {
            const fields = { name: error.name, message: error.message, code: error.code, errors: error.errors, isError: error instanceof Error }
            if (error.code === 503) throw new RetryError(JSON.stringify(fields))
            // A bad row will not get better: name it and give up.
            const [bad] = error.errors ?? []
            throw new Error(error.name + ': ' + error.message + ' ' + JSON.stringify(bad))
          }
        }`,
        { config: { key: google.keyJson('p'), endpoint: google.url } },
        { fetchAllowedHosts: LOOPBACK },
      )
      try {
        google.failInserts(1)
        const error = await rejection(instance.call('exportEvents', [[{ uuid: 'u1' }]]))
        assert.equal((error as { isRetryError?: boolean }).isRetryError, true, error.message)
        assert.deepEqual(JSON.parse(error.message.slice(error.message.indexOf('{'))), {
          name: 'Error',
          message: 'The service is currently unavailable.',
          code: 503,
          errors: [{ reason: 'backendError', message: 'The service is currently unavailable.' }],
          isError: true,
        })
        await instance.call('exportEvents', [[{ uuid: 'u2' }]])
        assert.deepEqual(google.rowsOf('p:d.t'), [{ uuid: 'u2' }])
        const partial = await rejection(instance.call('exportEvents', [[{ uuid: 'u3' }, { uuid: 'u4', invalid: true }]]))
        assert.equal((partial as { isRetryError?: boolean }).isRetryError, false)
        assert.match(partial.message, /PartialFailureError: .*"reason":"invalid".*"row":\{"json":\{"uuid":"u4","invalid":true\}\}/, 'the refused row and why')
        assert.deepEqual(google.rowsOf('p:d.t'), [{ uuid: 'u2' }, { uuid: 'u3' }])
      } finally {
        instance.dispose()
      }
    })

    it('hands a request that got no answer to the plugin as a node-fetch FetchError, as PostHog’s plugin tests for it', async () => {
      const closed = await new Promise<number>((resolve) => {
        const server = net.createServer().listen(0, '127.0.0.1', () => {
          const { port } = server.address() as net.AddressInfo
          server.close(() => resolve(port))
        })
      })
      const { instance } = await loadCode(
        `${BIGQUERY_CLIENT}
        import { FetchError } from 'node-fetch'
        const classify = (e) => ({ fetchError: e instanceof FetchError, name: e.name, type: e.type })
        export async function runEveryMinute({ config }) {
          const out = {}
          try { await client(config).dataset('d').table('t').getMetadata() } catch (e) { out.sdk = classify(e) }
          try { await fetch(config.endpoint + '/nothing') } catch (e) { out.fetch = classify(e) }
          return out
        }`,
        { config: { key: google.keyJson(), endpoint: `http://127.0.0.1:${closed}` } },
        { fetchAllowedHosts: LOOPBACK },
      )
      try {
        assert.deepEqual(await instance.call('runEveryMinute', []), {
          sdk: { fetchError: true, name: 'FetchError', type: 'system' },
          fetch: { fetchError: true, name: 'FetchError', type: 'system' },
        })
      } finally {
        instance.dispose()
      }
    })

    it('stops an answer that inflates past the bytes an instance’s responses may hold together, however little of it came over the wire', async () => {
      // 20 MB of JSON in ~20 KB of gzip: counted as it arrives, the body is far within 4 MiB.
      const bomb = gzipSync(JSON.stringify({ kind: 'bigquery#table', padding: 'x'.repeat(20 * 1024 * 1024) }))
      const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(bomb))
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      try {
        const { instance } = await loadCode(
          `${BIGQUERY_CLIENT}
          export async function runEveryMinute({ config }) {
            try { const [metadata] = await client(config).dataset('d').table('t').getMetadata(); return metadata.padding.length } catch (e) { return e.message }
          }`,
          { config: { key: google.keyJson(), endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}` } },
          { fetchAllowedHosts: LOOPBACK, maxFetchBytes: 4 * 1024 * 1024 },
        )
        try {
          assert.match(
            String(await instance.call('runEveryMinute', [])),
            /@google-cloud\/bigquery: an inflated response stopped: this plugin's responses being read hold over 4194304 bytes together, the limit of one response body/,
          )
        } finally {
          instance.dispose()
        }
      } finally {
        server.close()
      }
    })

    it('never uses the server’s own credentials: no credentials, a key file path or another credential type is refused by name', async () => {
      const { instance } = await loadCode(
        `import { BigQuery } from '@google-cloud/bigquery'
        export function runEveryMinute({ config }) {
          const attempt = (options) => { try { new BigQuery(options); return 'made' } catch (e) { return e.message } }
          return [
            attempt({ projectId: 'p' }),
            attempt({ projectId: 'p', keyFilename: '/etc/google/key.json' }),
            attempt({ projectId: 'p', credentials: { type: 'external_account', credential_source: { file: '/etc/passwd' } } }),
            attempt({ projectId: 'p', credentials: { client_email: 'a@b' } }),
          ]
        }`,
      )
      try {
        const messages = (await instance.call('runEveryMinute', [])) as string[]
        assert.match(messages[0], /options\.credentials is required .*never uses its own Google credentials/)
        assert.match(messages[1], /option "keyFilename" is not available to plugins/)
        assert.match(messages[2], /options\.credentials\.credential_source is not available to plugins/)
        assert.match(messages[3], /options\.credentials\.private_key is required/)
      } finally {
        instance.dispose()
      }
    })
  })

  describe('@google-cloud/storage', () => {
    it("runs a plugin written like PostHog's GCS export: a PassThrough piped into file.createWriteStream uploads the CSV", async () => {
      const { host, instance } = await loadFixture(
        'gcs-export',
        {
          config: { bucketName: 'exports', apiEndpoint: google.url, exportEventsToIgnore: '' },
          attachments: { googleCloudKeyJson: { file_name: 'key.json', content_type: 'application/json', contents: google.keyJson() } },
        },
        { fetchAllowedHosts: LOOPBACK },
      )
      try {
        await instance.call('setupPlugin', [])
        const events = [1, 2].map((i) => ({
          uuid: `u${i}`,
          event: 'signed up',
          distinct_id: 'd',
          team_id: 2,
          properties: { i },
          timestamp: '2026-01-01T00:00:00Z',
        }))
        await instance.call('exportEvents', [events])
        assert.equal(google.objects.length, 1)
        const [object] = google.objects
        assert.equal(object.bucket, 'exports')
        assert.match(object.name, /^\d{4}-\d\d-\d\d\/[0-9a-f]{16}\.csv$/)
        assert.ok(object.body.includes('uuid,event,properties,distinct_id,team_id,timestamp\nu1,signed up,'), object.body)
        assert.ok(object.body.includes('u2,signed up,'))
        assert.ok(host.logs.some((l) => l.message.includes(`Uploaded 2 events to ${object.name}`)))
      } finally {
        instance.dispose()
      }
    })

    it('turns a failed stream upload into the stream error event, so the plugin throws RetryError', async () => {
      const { instance } = await loadFixture(
        'gcs-export',
        {
          config: { bucketName: 'exports', apiEndpoint: `${google.url}/missing`, exportEventsToIgnore: '' },
          attachments: { googleCloudKeyJson: { file_name: 'key.json', content_type: 'application/json', contents: google.keyJson() } },
        },
        { fetchAllowedHosts: LOOPBACK },
      )
      try {
        await instance.call('setupPlugin', [])
        const error = await rejection(instance.call('exportEvents', [[{ uuid: 'u1', event: 'e', distinct_id: 'd', team_id: 2, properties: {} }]]))
        assert.equal((error as { isRetryError?: boolean }).isRetryError, true)
        assert.match(error.message, /Failed to upload to GCS: Not found: POST \/missing\/upload\/storage\/v1\/b\/exports\/o/)
      } finally {
        instance.dispose()
      }
    })
    it('bounds what all of an instance’s upload streams hold on the host together, and gives the bytes back when a stream is destroyed or its upload is done', async () => {
      const { instance } = await loadCode(
        `import { Storage } from '@google-cloud/storage'
        const MiB = 'x'.repeat(1024 * 1024)
        function fill(stream, mib) { for (let i = 0; i < mib; i++) stream.write(MiB) }
        function refusal(fn) { try { fn(); return null } catch (error) { return error.message } }
        export async function runEveryMinute({ config }) {
          const credentials = JSON.parse(config.key)
          const bucket = new Storage({ projectId: credentials.project_id, credentials, autoRetry: false, apiEndpoint: config.endpoint }).bucket('exports')
          const stream = (name) => bucket.file(name).createWriteStream({ resumable: false, validation: false })
          const [a, b, c] = [stream('a.csv'), stream('b.csv'), stream('c.csv')]
          fill(a, 20)
          fill(b, 20)
          fill(c, 10)
          const overBudget = refusal(() => c.write(MiB))
          a.destroy()
          const afterDestroy = refusal(() => fill(c, 20))
          await new Promise((resolve, reject) => b.on('error', reject).end(resolve))
          const afterUpload = refusal(() => fill(stream('d.csv'), 20))
          return { overBudget, afterDestroy, afterUpload }
        }`,
        { config: { key: google.keyJson(), endpoint: google.url } },
        { fetchAllowedHosts: LOOPBACK },
      )
      try {
        const out = (await instance.call('runEveryMinute', [])) as Record<string, string | null>
        assert.match(
          String(out.overBudget),
          /upload streams not yet finished hold 52428800 bytes on the host; all of them together may hold at most 52428800 bytes \(MAX_UPLOAD_BYTES\)/,
        )
        assert.equal(out.afterDestroy, null, 'a destroyed stream’s 20 MiB were given back')
        assert.equal(out.afterUpload, null, 'an uploaded stream’s 20 MiB were given back')
        assert.deepEqual(
          google.objects.map((o) => [o.name, o.body.length > 20 * 1024 * 1024]),
          [['b.csv', true]],
        )
      } finally {
        instance.dispose()
      }
    })

    it("counts its upload streams' bytes against what it shares with its team (shared.held), and gives the bytes of streams never ended back when the instance goes", async () => {
      const team: SharedByteBudget = { bytes: 0, limit: 30 * 1024 * 1024, name: 'what the host holds for the test team', variable: 'TEAM_HELD' }
      const { instance } = await loadCode(
        `import { Storage } from '@google-cloud/storage'
        const MiB = 'x'.repeat(1024 * 1024)
        export async function runEveryMinute({ config }) {
          const credentials = JSON.parse(config.key)
          const bucket = new Storage({ projectId: credentials.project_id, credentials, autoRetry: false, apiEndpoint: config.endpoint }).bucket('exports')
          const stream = (name) => bucket.file(name).createWriteStream({ resumable: false, validation: false })
          globalThis.kept = stream('kept.csv')
          for (let i = 0; i < 20; i++) kept.write(MiB)
          const other = stream('other.csv')
          try { for (let i = 0; i < 20; i++) other.write(MiB) } catch (error) { return error.message }
          return null
        }`,
        { config: { key: google.keyJson(), endpoint: google.url } },
        { fetchAllowedHosts: LOOPBACK, shared: { sockets: new SocketCount(1000), held: team } },
      )
      try {
        assert.match(
          String(await instance.call('runEveryMinute', [])),
          /refused: what the host holds for the test team would pass 31457280 bytes \(TEAM_HELD\): end or destroy an upload stream first/,
        )
        assert.equal(team.bytes, 30 * 1024 * 1024, "the two streams never ended (20 and 10 MiB) still count in the team's bytes")
      } finally {
        instance.dispose()
      }
      assert.equal(team.bytes, 0, 'disposing the instance gave them back')
    })
  })

  describe('@google-cloud/pubsub', () => {
    it("runs a plugin written like PostHog's Pub/Sub export: the topic created on setup, each event published", async () => {
      const pubsub = new PubSubServer()
      await pubsub.start()
      const { host, instance } = await loadFixture(
        'pubsub-export',
        {
          config: { topicId: 'events', apiEndpoint: pubsub.endpoint },
          attachments: { googleCloudKeyJson: { file_name: 'key.json', content_type: 'application/json', contents: google.keyJson() } },
        },
        { fetchAllowedHosts: LOOPBACK },
      )
      try {
        await instance.call('setupPlugin', [])
        assert.deepEqual([...pubsub.topics], ['projects/stand-in-project/topics/events'])
        assert.ok(host.logs.some((l) => l.message.includes('Creating PubSub Topic - events')))
        await instance.call('onEvent', [{ uuid: 'u1', event: 'signed up', distinct_id: 'd', team_id: 2, properties: { plan: 'pro' } }])
        assert.equal(pubsub.messages.length, 1)
        assert.deepEqual(JSON.parse(pubsub.messages[0].data.toString()), {
          event: 'signed up',
          properties: { plan: 'pro' },
          distinct_id: 'd',
          team_id: 2,
          uuid: 'u1',
        })
      } finally {
        instance.dispose()
        await pubsub.close()
      }
    })

    it('opens its gRPC channel under the address policy: a refused address fails with the policy’s reason', async () => {
      const { instance } = await loadCode(
        `import { PubSub } from '@google-cloud/pubsub'
        export async function runEveryMinute({ config }) {
          const credentials = JSON.parse(config.key)
          const topic = new PubSub({ projectId: credentials.project_id, credentials, apiEndpoint: '169.254.169.254:8085' }).topic('events')
          try { await topic.getMetadata({ timeout: 3000, maxRetries: 0 }); return 'reached' } catch (e) { return e.message }
        }`,
        { config: { key: google.keyJson() } },
        { fetchAllowedHosts: LOOPBACK },
      )
      try {
        assert.match(String(await instance.call('runEveryMinute', [])), /169\.254\.169\.254 is a link-local \(cloud metadata\) address/)
      } finally {
        instance.dispose()
      }
    })
  })

  it('requires no Google SDK when a worker starts, and only the one a plugin imports when it does', () => {
    const script = `
      const loaded = (re) => Object.keys(require.cache).filter((f) => re.test(f)).length
      const google = /@google-cloud|google-auth-library|google-gax|@grpc|gaxios/
      require('@plugin-server/plugin-vm'); require('@plugin-server/ingestion'); require('@plugin-server/export')
      const atStart = loaded(google)
      const { CapabilityBridge, AddressPolicy } = require('@plugin-server/plugin-vm')
      const bridge = new CapabilityBridge({ policy: new AddressPolicy([]), invokeCallback() {}, releaseCallback() {}, warn() {} })
      bridge.require('@google-cloud/storage')
      console.log(JSON.stringify({ atStart, storage: loaded(/@google-cloud[\\/]storage/), bigquery: loaded(/@google-cloud[\\/]bigquery/), pubsub: loaded(/@google-cloud[\\/]pubsub/) }))`
    const out = JSON.parse(execFileSync(process.execPath, ['--no-node-snapshot', '-e', script], { cwd: REPO_ROOT }).toString()) as Record<string, number>
    assert.equal(out.atStart, 0, 'nothing of the Google SDKs is required at start')
    assert.ok(out.storage > 0, 'the imported SDK is required on first use')
    assert.deepEqual([out.bigquery, out.pubsub], [0, 0], 'the others stay unloaded')
  })

  describe('the address policy on every socket the SDKs open', () => {
    const attempt = (sdk: 'bigquery' | 'storage') =>
      sdk === 'bigquery'
        ? `${BIGQUERY_CLIENT}
          export async function runEveryMinute({ config }) {
            try { await client(config).dataset('d').table('t').getMetadata(); return 'reached' } catch (e) { return e.message }
          }`
        : `import { Storage } from '@google-cloud/storage'
          export async function runEveryMinute({ config }) {
            const credentials = JSON.parse(config.key)
            const storage = new Storage({ projectId: credentials.project_id, credentials, apiEndpoint: config.endpoint, autoRetry: false })
            try { await storage.bucket('b').file('f.csv').save('x', { resumable: false, validation: false }); return 'reached' } catch (e) { return e.message }
          }`

    for (const sdk of ['bigquery', 'storage'] as const) {
      it(`${sdk}: refuses the metadata address and loopback, and reaches loopback once PLUGIN_FETCH_ALLOWED_HOSTS lists it`, async () => {
        google.tables.set('stand-in-project:d.t', { id: 'stand-in-project:d.t' })
        const run = async (endpoint: string, allowed: string[]) => {
          const { instance } = await loadCode(attempt(sdk), { config: { key: google.keyJson(), endpoint } }, { fetchAllowedHosts: allowed })
          try {
            return (await instance.call('runEveryMinute', [])) as string
          } finally {
            instance.dispose()
          }
        }
        const label = `@google-cloud/${sdk}`
        assert.match(
          await run('http://169.254.169.254', LOOPBACK),
          new RegExp(`fetch refused: ${label}: 169\\.254\\.169\\.254 is a link-local \\(cloud metadata\\) address`),
        )
        const before = google.requests.length
        assert.match(await run(google.url, []), new RegExp(`fetch refused: ${label}: 127\\.0\\.0\\.1 is a loopback address`))
        assert.equal(google.requests.length, before, 'nothing reached the stand-in while loopback was refused')
        assert.equal(await run(google.url, LOOPBACK), 'reached')
      })
    }
  })
})
