import assert from 'assert/strict'
import net from 'net'
import { AddressPolicy, CapabilityBridge, Facade, FacadeType, MODULE_SPECS, ModuleSpec, offeredMembers } from '@plugin-server/plugin-vm'
import { eventually } from '../harness/fleet'

/**
 * The generic half of the capability bridge, with specs shaped like the SDKs later issues add
 * (BigQuery's chained objects, aws-sdk's request objects with `.promise()` and deep imports). The
 * sandbox side speaks exactly these messages; pg's end-to-end tests are in capability-bridge.test.ts.
 */
interface Ref {
  __psFacade: number
  type: string
  shape?: { methods: string[]; properties: string[]; constructors: string[] }
}

class Table {
  constructor(readonly path: string) {}
  hostOnly = 'never handed out'
}
const TABLE: FacadeType<Table> = {
  name: '@google-cloud/bigquery.Table',
  methods: { insert: async (t, args) => ({ inserted: (args.data(0, 'rows') as unknown[]).length, into: t.path }) },
}
const DATASET: FacadeType<{ name: string }> = {
  name: '@google-cloud/bigquery.Dataset',
  methods: { table: (d, args) => new Facade(TABLE, new Table(`${d.name}.${args.string(0, 'table')}`)) },
}
const BIGQUERY: FacadeType<{ projectId: string }> = {
  name: '@google-cloud/bigquery.BigQuery',
  methods: {
    dataset: (b, args) => new Facade(DATASET, { name: `${b.projectId}.${args.string(0, 'dataset')}` }),
    failing: async () => Promise.reject(Object.assign(new Error('quota exceeded'), { code: 403, reason: 'quotaExceeded' })),
    dial: (_b, args) => new Promise((resolve) => net.connect(Number(args.at(0)), '127.0.0.1').once('error', (e) => resolve(e.message))),
  },
}
const BIGQUERY_ROOT: FacadeType<object> = {
  name: '@google-cloud/bigquery',
  constructors: { BigQuery: (_sdk, args) => new Facade(BIGQUERY, { projectId: String(args.record(0, 'options')?.projectId) }) },
}
const bigQuerySpec: ModuleSpec<unknown> = {
  name: '@google-cloud/bigquery',
  load: () => ({}),
  root: () => new Facade(BIGQUERY_ROOT, {}),
  rootType: BIGQUERY_ROOT,
}

const REQUEST: FacadeType<{ params: unknown }> = {
  name: 'aws-sdk.Request',
  methods: {
    promise: async (r) => ({ Location: 'https://bucket/key', params: r.params }),
    send: (r, args) => args.callback(0, 'callback').call(null, { Location: 'https://bucket/key', params: r.params }),
  },
}
const S3: FacadeType<object> = { name: 'aws-sdk.S3', methods: { upload: (_s, args) => new Facade(REQUEST, { params: args.data(0, 'params') }) } }
const AWS_ROOT: FacadeType<object> = { name: 'aws-sdk', constructors: { S3: () => new Facade(S3, {}) } }
const awsSpec: ModuleSpec<unknown> = {
  name: 'aws-sdk',
  load: () => ({}),
  root: () => new Facade(AWS_ROOT, {}),
  rootType: AWS_ROOT,
  paths: { 'aws-sdk/clients/s3': 'S3' },
}

describe('plugin-vm: the capability bridge with a spec per module', () => {
  const calls: [number, unknown][] = []
  const warnings: string[] = []
  const bridge = new CapabilityBridge({
    policy: new AddressPolicy([]),
    invokeCallback: (id, args) => calls.push([id, args]),
    releaseCallback: () => undefined,
    warn: (message) => warnings.push(message),
    specs: { '@google-cloud/bigquery': bigQuerySpec, 'aws-sdk': awsSpec },
  })
  const settled = (reply: unknown) => bridge.await((reply as { promise: number }).promise)

  it('chains facades: new BigQuery().dataset(x).table(y).insert(rows)', async () => {
    const module = bridge.require('@google-cloud/bigquery').module
    assert.deepEqual(module.shape, { methods: [], properties: [], constructors: ['BigQuery'] })
    const bq = bridge.construct(module.__psFacade, 'BigQuery', [{ projectId: 'p' }]) as Ref
    const dataset = (bridge.call(bq.__psFacade, 'dataset', ['d']) as { value: Ref }).value
    const table = (bridge.call(dataset.__psFacade, 'table', ['t']) as { value: Ref }).value
    assert.deepEqual(table.shape, { methods: ['insert'], properties: [], constructors: [] })
    assert.deepEqual(await settled(bridge.call(table.__psFacade, 'insert', [[{ a: 1 }, { a: 2 }]])), { ok: true, value: { inserted: 2, into: 'p.d.t' } })
  })

  it('hands out aws-style request objects with .promise() and callbacks, and a deep import as a member of the root', async () => {
    const reply = bridge.require('aws-sdk/clients/s3')
    assert.equal(reply.member, 'S3')
    const s3 = bridge.construct(reply.module.__psFacade, 'S3', []) as Ref
    const request = (bridge.call(s3.__psFacade, 'upload', [{ Bucket: 'b', Key: 'k' }]) as { value: Ref }).value
    assert.deepEqual(await settled(bridge.call(request.__psFacade, 'promise', [])), {
      ok: true,
      value: { Location: 'https://bucket/key', params: { Bucket: 'b', Key: 'k' } },
    })
    bridge.call(request.__psFacade, 'send', [{ __psCallback: 41, fn: 7 }])
    assert.deepEqual(calls, [[41, [null, { Location: 'https://bucket/key', params: { Bucket: 'b', Key: 'k' } }]]])
    assert.throws(() => bridge.require('aws-sdk/lib/core'), /module "aws-sdk\/lib\/core" is not available to plugins; import "aws-sdk"/)
  })

  it('allows only the names a spec declares, never inherited ones, and no function into an SDK where data is expected', async () => {
    const bq = bridge.construct(bridge.require('@google-cloud/bigquery').module.__psFacade, 'BigQuery', [{}]) as Ref
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'projectId', 'target']) {
      assert.throws(() => bridge.call(bq.__psFacade, name, []), new RegExp(`@google-cloud/bigquery.BigQuery.${name} is not available to plugins`))
      assert.throws(() => bridge.get(bq.__psFacade, name), /is not available to plugins/)
    }
    const dataset = (bridge.call(bq.__psFacade, 'dataset', ['d']) as { value: Ref }).value
    const table = (bridge.call(dataset.__psFacade, 'table', ['t']) as { value: Ref }).value
    const refused = await settled(bridge.call(table.__psFacade, 'insert', [[{ __psCallback: 1, fn: 1 }]]))
    assert.match(String(!refused.ok && refused.error.message), /@google-cloud\/bigquery\.Table\.insert: rows\.0 must be plain data, not a function/)
    assert.throws(() => bridge.require('snowflake-sdk'), /module snowflake-sdk is not installed on this server/)
  })

  it('settles an SDK rejection as data with its fields, handled from the start', async () => {
    const unhandled: unknown[] = []
    const listener = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', listener)
    try {
      const bq = bridge.construct(bridge.require('@google-cloud/bigquery').module.__psFacade, 'BigQuery', [{}]) as Ref
      const reply = bridge.call(bq.__psFacade, 'failing', [])
      await new Promise((resolve) => setImmediate(resolve))
      assert.deepEqual(await settled(reply), { ok: false, error: { name: 'Error', message: 'quota exceeded', code: 403, reason: 'quotaExceeded' } })
      assert.deepEqual(unhandled, [])
    } finally {
      process.off('unhandledRejection', listener)
    }
  })

  it("runs every member under the instance's address policy, labelled with the module", async () => {
    const bq = bridge.construct(bridge.require('@google-cloud/bigquery').module.__psFacade, 'BigQuery', [{}]) as Ref
    const out = await settled(bridge.call(bq.__psFacade, 'dial', [6379]))
    assert.match(String((out as { value: unknown }).value), /fetch refused: @google-cloud\/bigquery: 127\.0\.0\.1 is a loopback address/)
  })

  it('lets go of SDK clients the plugin dropped once they hold nothing, and keeps one still holding a socket until clear()', async () => {
    const bridge = new CapabilityBridge({ policy: new AddressPolicy(['127.0.0.0/8']), invokeCallback() {}, releaseCallback() {}, warn() {} })
    const aws = bridge.require('aws-sdk').module.__psFacade
    const pg = bridge.require('pg').module.__psFacade
    for (let i = 0; i < 500; i++) {
      bridge.release((bridge.construct(aws, 'S3', [{ accessKeyId: 'a', secretAccessKey: 'b' }]) as Ref).__psFacade)
      bridge.release((bridge.construct(pg, 'Client', [{ host: '127.0.0.1', port: 5432, password: 'x' }]) as Ref).__psFacade)
    }
    assert.equal(bridge.tracked, 0, 'S3 clients without sockets and pg clients never connected hold nothing')

    let open = 0
    const server = net.createServer((socket) => {
      open++
      socket.resume().on('close', () => open--)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const client = bridge.construct(pg, 'Client', [{ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, password: 'x' }]) as Ref
      bridge.call(client.__psFacade, 'connect', [])
      bridge.release(client.__psFacade)
      assert.equal(bridge.tracked, 1, 'a dropped client still connecting is kept')
      await eventually(
        'the client connected',
        async () => open,
        (n) => n === 1,
        10_000,
      )
      bridge.clear()
      await eventually(
        'clear() closed it',
        async () => open,
        (n) => n === 0,
        10_000,
      )
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it("declares each real module's root members as its facade offers them, so the install-time import check sees what a plugin will", () => {
    for (const [name, spec] of Object.entries(MODULE_SPECS)) {
      const shape = spec.root(spec.load()).shape()
      assert.deepEqual([...(offeredMembers(name) ?? [])].sort(), [...shape.constructors, ...shape.methods, ...shape.properties].sort(), name)
    }
  })
})
