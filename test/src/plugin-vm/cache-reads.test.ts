import assert from 'node:assert/strict'
import path from 'node:path'
import { MemoryCache } from '@plugin-server/plugin-vm'

// Internal to plugin-vm (the host dispatcher uses them), so loaded by path as sync-promise-gate.test.ts does.
const { CacheReads } = require(
  path.resolve(__dirname, '../../../libs/plugin-vm/dist/vm/cache-reads.js'),
) as typeof import('@plugin-server/plugin-vm/dist/vm/cache-reads')
const { holdBytes } = require(
  path.resolve(__dirname, '../../../libs/plugin-vm/dist/byte-budget.js'),
) as typeof import('@plugin-server/plugin-vm/dist/byte-budget')
const { StoreBounds } = require(
  path.resolve(__dirname, '../../../libs/plugin-vm/dist/vm/store-bounds.js'),
) as typeof import('@plugin-server/plugin-vm/dist/vm/store-bounds')

const LIMITS = { cacheMaxKeyBytes: 16, cacheMaxValueBytes: 2000, storageMaxValueBytes: 2000, jobMaxPayloadBytes: 2000, hostWorkMaxBytes: 3000 }

describe('CacheReads (the host side of meta.cache.get)', () => {
  let cache: MemoryCache
  let asked: string[][]
  let reported: string[]
  let budget: { bytes: number; limit: number }
  let reads: InstanceType<typeof CacheReads>
  const failed = (error: unknown) => ({ ok: false, error: { name: 'Failed', message: String((error as Error).message) } })

  beforeEach(async () => {
    cache = new MemoryCache()
    asked = []
    const readMany = cache.readMany.bind(cache)
    cache.readMany = (keys, maxBytes) => (asked.push([...keys]), readMany(keys, maxBytes))
    reported = []
    budget = { bytes: 0, limit: LIMITS.hostWorkMaxBytes }
    reads = new CacheReads(cache, new StoreBounds(LIMITS, (m) => reported.push(m)), budget, 2000)
    await cache.set('a', { n: 1 })
    await cache.set('b', 'text', undefined, { jsonSerialize: false })
    await cache.set('big1', 'x'.repeat(1500))
    await cache.set('big2', 'y'.repeat(1500))
  })

  it('read answers each key of a run once, as stored text; the other callers of a key point at the first (same), placed by the run’s offset in the crossing', async () => {
    const replies = await reads.read([['a'], ['b'], ['a'], ['missing'], ['a']], 3, failed)
    assert.deepEqual(asked, [['a', 'b', 'missing']])
    assert.deepEqual(replies, [
      { ok: true, value: '{"n":1}', taken: 1 },
      { ok: true, value: 'text' },
      { ok: true, same: 3 },
      { ok: true, value: null },
      { ok: true, same: 3 },
    ])
  })

  it('close gives back what the sandbox never acknowledged, and what reads still under way return, so a budget that outlives the instance (its team’s) keeps none of it', async () => {
    const team = { bytes: 0, limit: 1_000_000 }
    const counted = { bytes: 0, limit: LIMITS.hostWorkMaxBytes, within: team }
    const closing = new CacheReads(cache, new StoreBounds(LIMITS, () => undefined), counted, 2000)
    const [held] = await closing.read([['big1']], 0, failed)
    assert.equal(held.ok, true)
    assert.deepEqual([counted.bytes, team.bytes], [1502, 1502])
    const underWay = closing.read([['big2']], 0, failed)
    closing.close()
    assert.deepEqual([counted.bytes, team.bytes], [1498, 1498], 'only the reservation of the read under way is left (what was left of 3000)')
    await underWay
    assert.deepEqual([counted.bytes, team.bytes], [0, 0])
  })

  it('read keeps what it read out of its reservation: another instance of the team taking the team past the process’s reserve mark meanwhile does not get it refused', async () => {
    const processBudget = { bytes: 0, limit: 10_000, name: 'the process', variable: 'PROCESS_VAR', reserve: { amount: 5000, below: 3000 } }
    const team = { bytes: 0, limit: 100_000, within: processBudget, name: 'team 1', variable: 'TEAM_VAR' }
    const sibling = { bytes: 0, limit: 100_000, within: team }
    const counted = { bytes: 0, limit: LIMITS.hostWorkMaxBytes, within: team }
    const readMany = cache.readMany.bind(cache)
    cache.readMany = (keys, maxBytes) => {
      // While Redis answers: the team's other instance holds 4 000 (the team 6 000 with this read's 2 000 reserved).
      assert.equal(holdBytes(sibling, 4000), true)
      return readMany(keys, maxBytes)
    }
    const reading = new CacheReads(cache, new StoreBounds(LIMITS, () => undefined), counted, 2000)
    const [answer] = await reading.read([['big1']], 0, failed)
    assert.equal(answer.ok, true, 'holding it again would have been refused: the team is past 3 000 and the process past 5 000')
    assert.deepEqual([counted.bytes, team.bytes, processBudget.bytes], [1502, 5502, 5502])
    reading.taken(answer.taken!)
    assert.deepEqual([counted.bytes, team.bytes], [0, 4000])
  })

  it('read holds what it answered until taken: meanwhile a read gets only what is left of PLUGIN_HOST_WORK_MAX_BYTES, and is refused past it', async () => {
    const [first] = await reads.read([['big1']], 0, failed)
    assert.equal(first.ok, true)
    assert.equal(budget.bytes, 1502)
    const [refused] = await reads.read([['big2']], 0, failed)
    assert.equal(refused.ok, false)
    assert.equal(
      refused.error?.message,
      'cache.get("big2") refused: the values read at once come to more than this plugin may read at once (2000 bytes, or what is left of 3000 while other reads are held) (PLUGIN_HOST_WORK_MAX_BYTES)',
    )
    assert.deepEqual(reported, [refused.error?.message], 'the plugin’s logs say it too')
    reads.taken(first.taken!)
    assert.equal(budget.bytes, 0)
    const [after] = await reads.read([['big2']], 0, failed)
    assert.equal(after.value, JSON.stringify('y'.repeat(1500)))
  })

  it('read refuses the values of one run past its share, in order; the keys before stay answered', async () => {
    const replies = await reads.read([['a'], ['big1'], ['big2'], ['b']], 0, failed)
    assert.deepEqual(
      replies.map((r) => r.ok),
      [true, true, false, false],
    )
    assert.match(String(replies[2].error?.message), /^cache\.get\("big2"\) refused: the values read at once/)
    assert.equal(budget.bytes, 7 + 1502, 'what was answered is held, what was refused is not')
  })

  it('read answers a list key with WRONGTYPE and a key past PLUGIN_CACHE_MAX_KEY_BYTES with its refusal, each alone; a failing cache fails the run through `failed`', async () => {
    await cache.lpush('list', 'x')
    const replies = await reads.read([['list'], ['k'.repeat(17)], ['a']], 0, failed)
    assert.match(String(replies[0].error?.message), /^WRONGTYPE/)
    assert.equal(replies[1].error?.message, 'cache.get: the key is larger than 16 bytes (PLUGIN_CACHE_MAX_KEY_BYTES)')
    assert.equal(replies[2].value, '{"n":1}')
    cache.readMany = () => Promise.reject(new Error('Connection is closed.'))
    assert.deepEqual(await reads.read([['a'], ['b']], 0, failed), [
      { ok: false, error: { name: 'Failed', message: 'Connection is closed.' } },
      { ok: false, error: { name: 'Failed', message: 'Connection is closed.' } },
    ])
    assert.equal(budget.bytes, 7, 'a failed read holds nothing (7: the answer of `a` above, not yet taken)')
  })
})
