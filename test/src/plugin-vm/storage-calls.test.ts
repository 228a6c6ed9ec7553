import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { LocalHost, MAX_STORAGE_CALLS_PER_INSTANCE, PluginStorage } from '@plugin-server/plugin-vm'
import { sourceFromCode, vm } from './helpers'

describe('plugin-vm: meta.storage calls of one instance', function () {
  this.timeout(30_000)

  it('queues storage calls past MAX_STORAGE_CALLS_PER_INSTANCE (each holds a connection of the pool every team shares): 300 at once, all answered', async () => {
    const host = new LocalHost()
    const values = new Map<string, unknown>()
    let inFlight = 0
    let most = 0
    // A store that takes a little while, as Postgres does, and counts the calls it is serving at once.
    const slow = async <T>(fn: () => T): Promise<T> => {
      most = Math.max(most, ++inFlight)
      try {
        await sleep(5)
        return fn()
      } finally {
        inFlight--
      }
    }
    const storage: PluginStorage = {
      get: (key, defaultValue) => slow(() => (values.has(key) ? values.get(key) : defaultValue)),
      set: (key, value) => slow(() => void values.set(key, value)),
      del: (key) => slow(() => void values.delete(key)),
    }
    ;(host as { storage: PluginStorage }).storage = storage
    const instance = await vm.load(
      await sourceFromCode(`export const jobs = {
        many: async ({ storage }) => {
          await Promise.all(Array.from({ length: 100 }, (_, i) => storage.set('k' + i, i)))
          await Promise.all(Array.from({ length: 50 }, (_, i) => storage.del('k' + (i * 2))))
          return Promise.all(Array.from({ length: 100 }, (_, i) => storage.get('k' + i, 'gone')))
        },
      }`),
      host,
      { configId: 1 },
    )
    try {
      const got = (await instance.runJob('many', null)) as unknown[]
      assert.deepEqual(
        got,
        Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 'gone' : i)),
      )
      assert.equal(most, MAX_STORAGE_CALLS_PER_INSTANCE, `${most} storage calls at once`)
    } finally {
      instance.dispose()
    }
  })
})
