import assert from 'assert/strict'
import { LocalHost, PluginError, PluginInstance, PluginStoreError, StoreCapability } from '@plugin-server/plugin-vm'
import { TEST_FETCH_ALLOWLIST } from '../harness/security-env'
import { rejection, sourceFromCode, vm } from './helpers'

const OOM = "OOM command not allowed when used memory > 'maxmemory'."

/** What ioredis rejects with when Redis refuses a write at maxmemory. */
function replyError(message = OOM): Error {
  return Object.assign(new Error(message), { name: 'ReplyError' })
}

/**
 * A host whose cache writes fail with `error`, and which calls a failure its store's when it is the
 * error its Redis client threw (as the plugin runtime's host does), never one shaped like it.
 */
class FailingStoreHost extends LocalHost {
  readonly classified: StoreCapability[] = []
  failWith: Error | null = replyError()

  constructor() {
    super()
    const set = this.cache.set.bind(this.cache)
    this.cache.set = async (...args) => {
      if (this.failWith) throw this.failWith
      return set(...args)
    }
  }

  storeFailure(capability: StoreCapability, error: unknown): string | null {
    this.classified.push(capability)
    return error instanceof Error && error.name === 'ReplyError' && error.message.startsWith('OOM') ? `Redis refused the command (${error.message})` : null
  }
}

describe('plugin-vm: a plugin failing while the server’s store fails under its host calls', () => {
  let instance: PluginInstance | undefined
  afterEach(() => instance?.dispose())

  async function load(code: string): Promise<{ host: FailingStoreHost; instance: PluginInstance }> {
    const host = new FailingStoreHost()
    instance = await vm.load(await sourceFromCode(code), host, { configId: 1, fetchAllowedHosts: TEST_FETCH_ALLOWLIST })
    return { host, instance }
  }

  const events = [
    { uuid: 'u-0', team_id: 1, event: 'a', properties: {} },
    { uuid: 'u-1', team_id: 1, event: 'b', properties: {} },
  ]

  it('fails the whole processEvent batch as a retried PluginStoreError naming the store and its cause', async () => {
    const { instance } = await load(`export async function processEvent(e, { cache }) { await cache.set('k', 1); e.properties.enriched = true; return e }`)
    const error = await rejection(instance.processEventBatch(events))
    assert.ok(error instanceof PluginStoreError, String(error))
    assert.equal(error.isRetryError, true)
    assert.equal(error.storeFailure, `Redis refused the command (${OOM})`)
    assert.match(error.message, /^plugin inline \(config 1\): processEvent failed on 2 of 2 events while Redis refused the command \(OOM command not allowed/)
  })

  it('keeps what the plugin returned when it caught the store’s error itself', async () => {
    const { instance } = await load(
      `export async function processEvent(e, { cache }) { try { await cache.set('k', 1) } catch { e.properties.cached = false } return e }`,
    )
    const results = await instance.processEventBatch(events)
    assert.deepEqual(
      results.map((r) => r.ok && r.event?.properties?.cached),
      [false, false],
    )
  })

  it('leaves a failure the plugin’s own when the host does not call it its store’s', async () => {
    const { host, instance } = await load(`export async function processEvent(e, { cache }) { await cache.set('k', 1); return e }`)
    host.failWith = new Error('cache.set refused: over PLUGIN_TEAM_REDIS_LIMIT_MB')
    const results = await instance.processEventBatch(events)
    assert.deepEqual(
      results.map((r) => (r.ok ? 'ok' : r.error.message)),
      ['cache.set refused: over PLUGIN_TEAM_REDIS_LIMIT_MB', 'cache.set refused: over PLUGIN_TEAM_REDIS_LIMIT_MB'],
    )
    assert.deepEqual(host.classified, ['cache', 'cache'])
  })

  it('cannot be faked from the sandbox: an error shaped like the store’s, thrown by the plugin, stays its own', async () => {
    const { host, instance } = await load(
      `export function processEvent(e) { throw Object.assign(new Error(${JSON.stringify(OOM)}), { name: 'ReplyError', code: 'ECONNREFUSED' }) }`,
    )
    const [result] = await instance.processEventBatch(events.slice(0, 1))
    assert.equal(result.ok, false)
    assert.deepEqual(host.classified, [])
  })

  it('makes onEvent and a job that fail after a store failure retried PluginStoreErrors too', async () => {
    const { instance } = await load(`
      export async function onEvent(e, { cache }) { await cache.set('k', 1) }
      export const jobs = { later: async (payload, { cache }) => { await cache.set('k', payload) } }`)
    const onEvent = await rejection(instance.call('onEvent', [events[0]]))
    assert.ok(onEvent instanceof PluginStoreError && onEvent.isRetryError, String(onEvent))
    assert.match(onEvent.message, /onEvent failed while Redis refused the command/)
    const job = await rejection(instance.runJob('later', 1))
    assert.ok(job instanceof PluginStoreError && job.isRetryError, String(job))
    assert.match(job.message, /job later failed while Redis refused the command/)
  })

  it('does not blame a later call for a store failure that happened before it started', async () => {
    const { host, instance } = await load(`
      export async function onEvent(e, { cache }) { if (e.event === 'a') await cache.set('k', 1); else throw new Error('own bug') }`)
    await rejection(instance.call('onEvent', [events[0]]))
    host.failWith = null
    const own = await rejection(instance.call('onEvent', [events[1]]))
    assert.ok(own instanceof PluginError && !(own instanceof PluginStoreError), String(own))
  })
})
