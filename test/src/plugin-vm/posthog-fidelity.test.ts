import assert from 'assert/strict'
import type { ApiRequest } from '@plugin-server/plugin-vm'
import { loadCode } from './helpers'

/** Edge semantics of `meta` a plugin written for PostHog's plugin server (1.10.x) relies on. */
describe('plugin-vm: what a PostHog plugin gets at the edges of meta', () => {
  it('calls a job enqueued without a payload (or with a falsy one) with meta as its first argument, as PostHog did', async () => {
    const { instance } = await loadCode(`
      export const jobs = {
        metaFirst: (meta) => typeof meta?.cache?.get === 'function' && typeof meta.global === 'object',
        both: (payload, meta) => [payload, typeof meta?.cache?.get],
      }`)
    try {
      assert.equal(await instance.runJob('metaFirst', undefined), true, 'no payload: meta first')
      assert.equal(await instance.runJob('metaFirst', null), true, 'null: meta first')
      assert.equal(await instance.runJob('metaFirst', 0), true, 'a falsy payload: meta first, as PostHog ran `payload ? job(payload) : job()`')
      assert.deepEqual(await instance.runJob('both', { n: 1 }), [{ n: 1 }, 'function'])
    } finally {
      instance.dispose()
    }
  })

  it('stores cache, storage and job values as JSON makes them: toJSON is used and functions are left out, instead of a clone error', async () => {
    const { host, instance } = await loadCode(`
      class Moment { constructor(iso) { this._i = iso; this._isAMomentObject = true } toJSON() { return this._i } }
      export const jobs = { later: () => null }
      export async function runEveryMinute({ cache, storage, jobs }) {
        const when = new Moment('2026-01-02T03:04:05.000Z')
        const value = { when, at: new Date(0), skip: undefined, fn() {}, list: [1, () => 2] }
        await cache.set('v', value)
        await cache.set('raw', 'text', 60, { jsonSerialize: false })
        await storage.set('v', value)
        await storage.set('m', when)
        await jobs.later(value).runNow()
        return [await cache.get('v'), await cache.get('raw', null, { jsonSerialize: false }), await storage.get('v'), await storage.get('m')]
      }`)
    try {
      const expected = { when: '2026-01-02T03:04:05.000Z', at: '1970-01-01T00:00:00.000Z', list: [1, null] }
      assert.deepEqual(await instance.call('runEveryMinute', []), [expected, 'text', expected, '2026-01-02T03:04:05.000Z'])
      assert.deepEqual(host.jobs[0].payload, expected)
    } finally {
      instance.dispose()
    }
  })

  it('rejects the promise of a cache, storage or job write whose value JSON cannot make, instead of throwing at the call', async () => {
    const { host, instance } = await loadCode(`
      export const jobs = { later: () => null }
      export async function runEveryMinute({ cache, storage, jobs }) {
        const cyclic = {}
        cyclic.self = cyclic
        const caught = []
        const calls = [() => cache.set('c', cyclic), () => storage.set('s', { n: 1n }), () => jobs.later(cyclic).runNow()]
        for (const call of calls) {
          let promise
          try { promise = call() } catch (e) { caught.push('threw: ' + e.name); continue }
          await promise.then(() => caught.push('stored'), (e) => caught.push('rejected: ' + e.name))
        }
        return caught
      }`)
    try {
      assert.deepEqual(await instance.call('runEveryMinute', []), ['rejected: TypeError', 'rejected: TypeError', 'rejected: TypeError'])
      assert.equal(host.jobs.length, 0, 'nothing was queued')
    } finally {
      instance.dispose()
    }
  })

  it('runs a runIn with a negative duration now, as PostHog did, and refuses one that is not a number', async () => {
    const { host, instance } = await loadCode(`
      export const jobs = { later: () => null }
      export async function runEveryMinute({ jobs }) {
        await jobs.later({ n: 1 }).runIn(-30, 'seconds')
        try { await jobs.later().runIn('soon', 'seconds'); return 'accepted' } catch (e) { return e.message }
      }`)
    try {
      const before = Date.now()
      assert.equal(await instance.call('runEveryMinute', []), 'runIn: duration must be a number')
      assert.equal(host.jobs.length, 1)
      assert.ok(host.jobs[0].runAt.getTime() >= before && host.jobs[0].runAt.getTime() <= Date.now(), 'the past time became now')
    } finally {
      instance.dispose()
    }
  })

  it('takes metric operations in any case, as PostHog lowercased them', async () => {
    const { host, instance } = await loadCode(`
      export const metrics = { sent: 'SUM', slowest: 'Max' }
      export function runEveryMinute({ metrics }) { metrics.sent.increment(2); metrics.slowest.max(9) }`)
    try {
      assert.deepEqual(instance.metrics, { sent: 'sum', slowest: 'max' })
      await instance.call('runEveryMinute', [])
      assert.deepEqual(host.metricUpdates, [
        { name: 'sent', operation: 'sum', value: 2 },
        { name: 'slowest', operation: 'max', value: 9 },
      ])
    } finally {
      instance.dispose()
    }
  })

  it('answers posthog.capture with a promise, as PostHog did, so .then and .catch on it work', async () => {
    const { host, instance } = await loadCode(`
      export async function runEveryMinute() {
        let done = false
        await posthog.capture('counted', { n: 1 }).then(() => (done = true)).catch(() => {})
        return done
      }`)
    try {
      assert.equal(await instance.call('runEveryMinute', []), true)
      assert.deepEqual(
        host.captures.map((c) => [c.event, c.properties]),
        [['counted', { n: 1 }]],
      )
    } finally {
      instance.dispose()
    }
  })
  it('delivers posthog.capture properties whatever the plugin made of JSON.stringify, as PostHog serialised them with its own', async () => {
    const { host, instance } = await loadCode(`
      export async function runEveryMinute() {
        JSON.stringify = () => 'not JSON'
        posthog.capture('after the replace', { n: 1 })
      }`)
    try {
      await instance.call('runEveryMinute', [])
      assert.deepEqual(
        host.captures.map((c) => [c.event, c.properties]),
        [['after the replace', { n: 1 }]],
      )
    } finally {
      instance.dispose()
    }
  })

  it('sends posthog.api options whatever the plugin made of JSON.stringify and JSON.parse', async () => {
    const seen: ApiRequest[] = []
    const { instance } = await loadCode(
      `export async function runEveryMinute() {
        JSON.stringify = () => 'not JSON'
        JSON.parse = () => ({ forged: true })
        const response = await posthog.api.post('/api/projects/@current/annotations', { data: { content: 'deployed' } })
        return response.status
      }`,
      {
        api: async (request) => (seen.push(request), { status: 201, statusText: 'Created', url: 'http://posthog.local/', headers: [], body: new Uint8Array() }),
      },
    )
    try {
      assert.equal(await instance.call('runEveryMinute', []), 201)
      assert.deepEqual(
        seen.map((r) => [r.method, r.path, r.options]),
        [['POST', '/api/projects/@current/annotations', { data: { content: 'deployed' } }]],
      )
    } finally {
      instance.dispose()
    }
  })

  it("flushes @posthog/plugin-contrib's createBuffer as that package did: 10 points by default, an item over the limit at once, add and flush detached", async () => {
    const { instance } = await loadCode(`
      import { createBuffer } from '@posthog/plugin-contrib'
      export async function runEveryMinute() {
        const flushed = []
        const byDefault = createBuffer({ onFlush: (batch) => { flushed.push(['default', batch.length]) } })
        for (let i = 0; i < 11; i++) byDefault.add(i)
        const big = createBuffer({ limit: 100, timeoutSeconds: 600, onFlush: (batch, points) => { flushed.push(['big', batch, points]) } })
        big.add('small', 10)
        big.add('huge', 500)
        const { add, flush } = createBuffer({ limit: 3, onFlush: (batch) => { flushed.push(['detached', batch]) } })
        ;['a', 'b'].forEach((item) => add(item))
        await flush()
        return { flushed, options: byDefault._options.timeoutSeconds, points: byDefault._points, left: byDefault._buffer }
      }`)
    try {
      assert.deepEqual(await instance.call('runEveryMinute', []), {
        flushed: [
          ['default', 10],
          ['big', ['small'], 10],
          ['big', ['huge'], 500],
          ['detached', ['a', 'b']],
        ],
        options: 60,
        points: 1,
        left: [10],
      })
    } finally {
      instance.dispose()
    }
  })
})
