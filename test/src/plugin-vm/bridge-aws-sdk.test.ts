import assert from 'assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { startS3Server, S3_TEST_CREDENTIALS, TestS3Server } from '../harness/s3-server'
import { loadCode } from './helpers'

const BUCKET = 'bridge-test'

/** A plugin body that builds an S3 client from `config` the way export plugins do. */
const client = (extra = '') =>
  `new S3({ ...${JSON.stringify(S3_TEST_CREDENTIALS)}, endpoint: config.endpoint, s3ForcePathStyle: true, region: 'us-east-1', ${extra} })`

describe('plugin-vm: aws-sdk (v2) through the capability bridge', function () {
  this.timeout(30_000)
  let s3: TestS3Server
  before(async () => (s3 = await startS3Server([BUCKET])))
  after(async () => s3.stop())

  it('puts, uploads, lists, reads, heads and deletes objects with .promise(), .send(cb) and node-style callbacks, results as plain data', async () => {
    const { instance } = await loadCode(
      `
      import { S3 } from 'aws-sdk'
      import { gzipSync, gunzipSync } from 'zlib'
      export async function runEveryMinute({ config }) {
        const s3 = ${client()}
        const put = await s3.putObject({ Bucket: '${BUCKET}', Key: 'a/one.txt', Body: 'one', ContentType: 'text/plain' }).promise()
        const uploaded = await new Promise((resolve, reject) =>
          s3.upload({ Bucket: '${BUCKET}', Key: 'a/two.jsonl.gz', Body: gzipSync('{"n":2}\\n') }, (err, data) => (err ? reject(err) : resolve(data))))
        const listed = await s3.listObjectsV2({ Bucket: '${BUCKET}', Prefix: 'a/' }).promise()
        const got = await s3.getObject({ Bucket: '${BUCKET}', Key: 'a/two.jsonl.gz' }).promise()
        const head = await s3.headBucket({ Bucket: '${BUCKET}' }).promise()
        const sentLength = await new Promise((resolve, reject) =>
          s3.headObject({ Bucket: '${BUCKET}', Key: 'a/one.txt' }).send((err, data) => (err ? reject(err) : resolve(data.ContentLength))))
        const deleted = await new Promise((resolve, reject) =>
          s3.deleteObject({ Bucket: '${BUCKET}', Key: 'a/one.txt' }, (err, data) => (err ? reject(err) : resolve(data))))
        const after = await s3.listObjectsV2({ Bucket: '${BUCKET}', Prefix: 'a/' }).promise()
        return {
          putKeys: Object.keys(put).sort(),
          uploaded: { Key: uploaded.Key, Bucket: uploaded.Bucket },
          listed: listed.Contents.map((c) => c.Key),
          lastModifiedIsDate: listed.Contents[0].LastModified instanceof Date,
          body: gunzipSync(got.Body).toString(),
          bodyIsBuffer: Buffer.isBuffer(got.Body),
          headIsData: typeof head === 'object',
          sentLength,
          deleted: typeof deleted,
          after: after.Contents.map((c) => c.Key),
        }
      }`,
      { config: { endpoint: s3.endpoint } },
    )
    try {
      assert.deepEqual(await instance.call('runEveryMinute', []), {
        putKeys: ['ETag'],
        uploaded: { Key: 'a/two.jsonl.gz', Bucket: BUCKET },
        listed: ['a/one.txt', 'a/two.jsonl.gz'],
        lastModifiedIsDate: true,
        body: '{"n":2}\n',
        bodyIsBuffer: true,
        headIsData: true,
        sentLength: 3,
        deleted: 'object',
        after: ['a/two.jsonl.gz'],
      })
    } finally {
      instance.dispose()
    }
  })

  it('gives aws-sdk/clients/s3 as the S3 constructor, and S3 errors with their code and status code', async () => {
    const { instance } = await loadCode(
      `
      import S3 from 'aws-sdk/clients/s3'
      export async function runEveryMinute({ config }) {
        const s3 = ${client('maxRetries: 0')}
        try {
          await s3.getObject({ Bucket: '${BUCKET}', Key: 'missing' }).promise()
          return 'no error'
        } catch (e) {
          return { name: e.name, code: e.code, statusCode: e.statusCode, isError: e instanceof Error }
        }
      }`,
      { config: { endpoint: s3.endpoint } },
    )
    try {
      assert.deepEqual(await instance.call('runEveryMinute', []), { name: 'NoSuchKey', code: 'NoSuchKey', statusCode: 404, isError: true })
    } finally {
      instance.dispose()
    }
  })

  it("stops an object being read past the bytes the instance's responses may hold together (maxFetchBytes): the SDK would read it whole on the host", async () => {
    const { instance } = await loadCode(
      `
      import { S3 } from 'aws-sdk'
      export async function runEveryMinute({ config }) {
        const s3 = ${client('maxRetries: 0')}
        await s3.putObject({ Bucket: '${BUCKET}', Key: 'big', Body: 'x'.repeat(6 * 1024 * 1024) }).promise()
        await s3.putObject({ Bucket: '${BUCKET}', Key: 'small', Body: 'y'.repeat(3 * 1024 * 1024) }).promise()
        const read = (Key) => s3.getObject({ Bucket: '${BUCKET}', Key }).promise().then((o) => o.Body.length, (e) => e.message.replace(/:\\d+/, ':port'))
        return [await read('big'), await read('small')]
      }`,
      { config: { endpoint: s3.endpoint } },
      { maxFetchBytes: 4 * 1024 * 1024 },
    )
    try {
      assert.deepEqual(await instance.call('runEveryMinute', []), [
        "aws-sdk: a response from http://127.0.0.1:port stopped: this plugin's responses being read hold over 4194304 bytes together, the limit of one response body",
        3 * 1024 * 1024,
      ])
    } finally {
      instance.dispose()
    }
  })

  it("never uses the server's own AWS credentials: a client without an access key and secret is refused even when AWS_* is set", async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY }
    process.env.AWS_ACCESS_KEY_ID = S3_TEST_CREDENTIALS.accessKeyId
    process.env.AWS_SECRET_ACCESS_KEY = S3_TEST_CREDENTIALS.secretAccessKey
    const { instance } = await loadCode(
      `
      import { S3 } from 'aws-sdk'
      export function runEveryMinute({ config }) {
        try {
          new S3({ endpoint: config.endpoint, s3ForcePathStyle: true })
          return 'made a client'
        } catch (e) {
          return e.message
        }
      }`,
      { config: { endpoint: s3.endpoint } },
    )
    try {
      assert.match(
        String(await instance.call('runEveryMinute', [])),
        /aws-sdk: new S3: accessKeyId and secretAccessKey are required \(the server's own AWS credentials are never used/,
      )
    } finally {
      instance.dispose()
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID
      else process.env.AWS_ACCESS_KEY_ID = saved.id
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY
      else process.env.AWS_SECRET_ACCESS_KEY = saved.secret
    }
  })

  it('refuses options outside the allowlist by name (logger, an http agent or proxy, a credential provider)', async () => {
    const { instance } = await loadCode(
      `
      import { S3 } from 'aws-sdk'
      export function runEveryMinute() {
        const tries = [{ logger: 'x' }, { httpOptions: { proxy: 'http://10.0.0.1' } }, { httpOptions: { agent: {} } }, { credentialProvider: {} }, { maxRetries: 1000 }]
        return tries.map((options) => {
          try {
            new S3({ accessKeyId: 'a', secretAccessKey: 'b', ...options })
            return 'accepted'
          } catch (e) {
            return e.message
          }
        })
      }`,
    )
    try {
      const out = (await instance.call('runEveryMinute', [])) as string[]
      assert.match(out[0], /aws-sdk: new S3: option "logger" is not available to plugins/)
      assert.match(out[1], /option "httpOptions.proxy" is not available to plugins/)
      assert.match(out[2], /option "httpOptions.agent" is not available to plugins/)
      assert.match(out[3], /option "credentialProvider" is not available to plugins/)
      assert.match(out[4], /option "maxRetries" must be at most 10/)
    } finally {
      instance.dispose()
    }
  })

  it("applies AWS.config.update to the plugin's own later clients only, with a warning, and leaves the SDK's global config alone", async () => {
    const { host, instance } = await loadCode(
      `
      import AWS from 'aws-sdk'
      export async function runEveryMinute({ config }) {
        AWS.config.update({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'eu-west-1' })
        const s3 = new AWS.S3({ endpoint: config.endpoint, s3ForcePathStyle: true })
        await s3.putObject({ Bucket: '${BUCKET}', Key: 'configured', Body: 'x' }).promise()
        return 'stored'
      }`,
      { config: { endpoint: s3.endpoint } },
    )
    try {
      assert.equal(await instance.call('runEveryMinute', []), 'stored')
      const global = require('aws-sdk/global') as { config: { region?: string; accessKeyId?: string } }
      assert.notEqual(global.config.region, 'eu-west-1')
      assert.equal(global.config.accessKeyId, undefined)
      assert.ok(host.logs.some((l) => /AWS\.config\.update applies to this plugin's clients only/.test(l.message)))
    } finally {
      instance.dispose()
    }
  })

  it("keeps each client's bucket region cache its own: another plugin's server naming a bucket's region changes nothing for this plugin's client", async () => {
    // aws-sdk v2 caches a bucket's region, from any answer's x-amz-bucket-region, on S3.prototype: shared by
    // every client in the process, and used to sign (and, on amazonaws.com, to address) the next request for that bucket.
    const servers = await Promise.all(
      ['attacker', 'victim'].map(async (name) => {
        const authorizations: string[] = []
        const server = http.createServer((req, res) => {
          authorizations.push(String(req.headers.authorization ?? ''))
          req.resume()
          req.on('end', () => res.writeHead(200, name === 'attacker' ? { 'x-amz-bucket-region': 'eu-hijacked-1' } : {}).end())
        })
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
        return { server, authorizations, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
      }),
    )
    const [attacker, victim] = servers
    // upload (ManagedUpload) runs on a copy of the client the SDK makes per upload.
    const run = (endpoint: string, then: 'putObject' | 'upload') => `
      import { S3 } from 'aws-sdk'
      export async function runEveryMinute() {
        const s3 = new S3({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', endpoint: '${endpoint}', s3ForcePathStyle: true, region: 'us-east-1' })
        await s3.putObject({ Bucket: 'shared-name', Key: 'k', Body: 'x' }).promise()
        await s3.${then}({ Bucket: 'shared-name', Key: 'k', Body: 'x' }).promise()
        return 'stored'
      }`
    const first = await loadCode(run(attacker.endpoint, 'putObject'))
    const second = await loadCode(run(victim.endpoint, 'upload'))
    try {
      assert.equal(await first.instance.call('runEveryMinute', []), 'stored')
      assert.equal(await second.instance.call('runEveryMinute', []), 'stored')
      assert.equal(victim.authorizations.length, 2)
      for (const authorization of victim.authorizations) {
        assert.match(authorization, /Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/s3\/aws4_request/, 'signed for its own region')
      }
      assert.match(attacker.authorizations[1], /\/eu-hijacked-1\/s3\//, "the attacker's own client does take its server's answer")
    } finally {
      first.instance.dispose()
      second.instance.dispose()
      for (const { server } of servers) await new Promise((resolve) => (server.closeAllConnections(), server.close(resolve)))
    }
  })

  describe('the address policy', () => {
    const refusedRun = (endpoint: string) => `
      import { S3 } from 'aws-sdk'
      export async function runEveryMinute() {
        const s3 = new S3({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', endpoint: '${endpoint}', s3ForcePathStyle: true, region: 'us-east-1', maxRetries: 1 })
        try {
          await s3.putObject({ Bucket: '${BUCKET}', Key: 'k', Body: 'x' }).promise()
          return 'stored'
        } catch (e) {
          return { code: e.code, message: e.message }
        }
      }`

    it('refuses the instance metadata address (169.254.169.254) with the policy named in the error, on the SDK’s retry too', async () => {
      const { instance } = await loadCode(refusedRun('http://169.254.169.254'))
      try {
        const out = (await instance.call('runEveryMinute', [])) as { message: string }
        assert.match(out.message, /fetch refused: aws-sdk: 169\.254\.169\.254 is a link-local \(cloud metadata\) address/)
      } finally {
        instance.dispose()
      }
    })

    it('refuses 127.0.0.1 unless PLUGIN_FETCH_ALLOWED_HOSTS allows it, even right after an allowed client of another plugin used the same server', async () => {
      const allowed = await loadCode(refusedRun(s3.endpoint), {}, { fetchAllowedHosts: ['127.0.0.1'] })
      const refused = await loadCode(refusedRun(s3.endpoint), {}, { fetchAllowedHosts: [] })
      try {
        assert.equal(await allowed.instance.call('runEveryMinute', []), 'stored')
        const out = (await refused.instance.call('runEveryMinute', [])) as { message: string }
        assert.match(
          out.message,
          /fetch refused: aws-sdk: 127\.0\.0\.1 is a loopback address \(operators can allow internal hosts with PLUGIN_FETCH_ALLOWED_HOSTS\)/,
        )
      } finally {
        allowed.instance.dispose()
        refused.instance.dispose()
      }
    })
  })
})

describe('plugin-vm: aws-sdk and snowflake-sdk are loaded on first use only', function () {
  this.timeout(60_000)

  it('a worker that loads and runs a plugin using neither has not required them; the first require happens with the first use', async () => {
    const script = `
      const { IsolatedVmPluginVm, LocalHost, sourceFromFiles } = require('@plugin-server/plugin-vm')
      const loaded = () => Object.keys(require.cache).filter((f) => /node_modules\\/(aws-sdk|snowflake-sdk)\\//.test(f)).length
      const plugin = (code) => sourceFromFiles(new Map([['plugin.json', Buffer.from('{"name":"p","main":"index.ts"}')], ['index.ts', Buffer.from(code)]]))
      ;(async () => {
        const vm = new IsolatedVmPluginVm()
        const plain = await vm.load(await plugin('export function processEvent(e) { return e }'), new LocalHost(), { configId: 1 })
        await plain.call('processEvent', [{ event: 'x', distinct_id: 'd', properties: {} }])
        const before = loaded()
        const aws = await vm.load(await plugin("import { S3 } from 'aws-sdk'\\nexport function runEveryMinute() { new S3({ accessKeyId: 'a', secretAccessKey: 'b' }) }"), new LocalHost(), { configId: 2 })
        const afterLoad = loaded()
        await aws.call('runEveryMinute', [])
        console.log(JSON.stringify({ before, afterLoad, afterUse: loaded() }))
        plain.dispose()
        aws.dispose()
      })().catch((e) => { console.error(e); process.exit(1) })`
    const { execFileSync } = await import('child_process')
    const out = JSON.parse(execFileSync(process.execPath, ['--no-node-snapshot', '-e', script], { cwd: __dirname, encoding: 'utf8' })) as Record<string, number>
    assert.equal(out.before, 0, 'nothing of either SDK is required by the worker or a plugin not using them')
    assert.ok(out.afterUse > 0, 'aws-sdk is required once a plugin uses it')
  })
})
