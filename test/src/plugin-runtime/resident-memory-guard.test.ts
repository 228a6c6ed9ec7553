import assert from 'node:assert/strict'
import pino from 'pino'
import { Registry } from 'prom-client'
import { PluginInstance, PluginPool } from '@plugin-server/plugin-vm'
import { ResidentMemoryGuard, residentMemoryMetrics, RSS_RAISE_AFTER_MS, RSS_SETTLE_MS } from '@plugin-server/plugin-runtime'
import { waitFor } from '../harness/wait'
import { loadCode } from '../plugin-vm/helpers'

const MiB = 1024 * 1024
const code = `export function processEvent(e) { e.properties.seen = (e.properties.seen ?? 0) + 1; return e }`

/** A pool of real isolates with `maxLive` room, and the log of what it unloaded and why. */
function poolOf(maxLive: number) {
  const unloaded: string[] = []
  const pool = new PluginPool<number>({
    maxLiveInstances: maxLive,
    create: async (key) => (await loadCode(code, {}, { configId: key })).instance,
    onEvict: async (key, _instance, reason) => void unloaded.push(`${key} ${reason}`),
  })
  return { pool, unloaded }
}

async function loadKeys(pool: PluginPool<number>, count: number, from = 1): Promise<void> {
  for (let key = from; key < from + count; key++) await pool.use(key, async () => undefined)
}

/** A logger whose lines the test reads. */
function recordingLogger() {
  const lines: { level: number; msg: string; [field: string]: unknown }[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) })
  return { logger, lines }
}

describe('ResidentMemoryGuard (PLUGIN_RSS_LIMIT_MB)', () => {
  let pool: PluginPool<number> | undefined
  afterEach(async () => {
    await pool?.close()
    pool = undefined
  })

  /** A guard over a pool of `maxLive` whose RSS reading and clock the test sets. */
  function guarded(maxLive: number, limitMb: number) {
    const made = poolOf(maxLive)
    pool = made.pool
    const state = { rssMb: 0, now: 1_000_000 }
    const { logger, lines } = recordingLogger()
    const registry = new Registry()
    const guard = new ResidentMemoryGuard(made.pool, logger, {
      limitBytes: limitMb * MiB,
      readRss: () => state.rssMb * MiB,
      now: () => state.now,
      metrics: residentMemoryMetrics(registry),
    })
    return { pool: made.pool, unloaded: made.unloaded, state, guard, lines, registry }
  }

  it('over the limit, keeps a tenth fewer configs live, unloading the least recently used idle ones, and judges again only after RSS_SETTLE_MS', async () => {
    const { pool, unloaded, state, guard, lines, registry } = guarded(20, 500)
    await loadKeys(pool, 20)
    state.rssMb = 540
    await guard.check()
    assert.equal(pool.cap, 18)
    assert.equal(pool.size, 18)
    assert.deepEqual(unloaded, ['1 rss', '2 rss'])
    const warning = lines.find((l) => l.level === 40)
    assert.match(
      warning?.msg ?? '',
      /resident memory 540 MB is over PLUGIN_RSS_LIMIT_MB \(500\): 2 idle plugin configs unloaded so far, and at most 18 kept live/,
    )
    assert.match(await registry.getSingleMetricAsString('plugin_live_instances_cap'), / 18$/m)
    assert.match(await registry.getSingleMetricAsString('plugin_instances_unloaded_for_rss_total'), / 2$/m)

    // Its memory goes back to the system seconds after: not a reason to cut again meanwhile.
    state.now += RSS_SETTLE_MS - 1
    await guard.check()
    assert.equal(pool.cap, 18)
    state.now += 1
    await guard.check()
    assert.equal(pool.cap, 16)
    assert.deepEqual(unloaded, ['1 rss', '2 rss', '3 rss', '4 rss'])
  })

  it('cuts by the share RSS is over the limit when that is more than a tenth, never below the floor', async () => {
    const { pool, state, guard } = guarded(40, 500)
    await loadKeys(pool, 40)
    state.rssMb = 800 // 300 MB over: 37.5 % of the RSS, so 15 of the 40
    await guard.check()
    assert.equal(pool.cap, 25)
    state.rssMb = 5000 // 90 % over: 23 of the 25, but never below 4, a tenth of the 40
    state.now += RSS_SETTLE_MS
    await guard.check()
    assert.deepEqual([pool.cap, pool.size], [4, 4])
  })

  it('leaves busy configs live, and the next loads make room at the lower cap', async () => {
    const { pool, unloaded, state, guard } = guarded(10, 500)
    await loadKeys(pool, 10)
    let release!: () => void
    const busy = pool.use(1, () => new Promise<void>((resolve) => (release = resolve)))
    await waitFor('config 1 in use', () => release !== undefined, Boolean)
    state.rssMb = 501
    await guard.check()
    assert.equal(pool.cap, 9)
    assert.deepEqual(unloaded, ['2 rss'], 'config 1 is busy: the next least recently used goes')
    release()
    await busy
    await pool.use(11, async () => undefined)
    assert.equal(pool.size, 9)
    assert.deepEqual(unloaded, ['2 rss', '3 room'])
  })

  it('never keeps fewer than a tenth of PLUGIN_MAX_LIVE_INSTANCES live, and says there that the memory is not the isolates', async () => {
    const { pool, state, guard, lines } = guarded(20, 500)
    await loadKeys(pool, 20)
    state.rssMb = 540
    for (let cut = 0; cut < 30; cut++) {
      await guard.check()
      state.now += RSS_SETTLE_MS
    }
    assert.equal(pool.cap, 2)
    assert.equal(pool.size, 2)
    assert.match(
      lines.filter((l) => l.level === 40).at(-1)?.msg ?? '',
      /with only 2 plugin configs live, a tenth of PLUGIN_MAX_LIVE_INSTANCES \(20\) or fewer: what holds the memory is not the plugins' isolates/,
    )
  })

  it('gives a tenth of PLUGIN_MAX_LIVE_INSTANCES back once RSS has stayed under three quarters of the limit for RSS_RAISE_AFTER_MS', async () => {
    const { pool, state, guard, lines } = guarded(20, 500)
    await loadKeys(pool, 20)
    state.rssMb = 540
    await guard.check()
    state.now += RSS_SETTLE_MS
    await guard.check()
    assert.equal(pool.cap, 16)

    state.rssMb = 400 // under the limit, not under three quarters of it: the cap stays
    state.now += RSS_RAISE_AFTER_MS * 2
    await guard.check()
    assert.equal(pool.cap, 16)

    state.rssMb = 370
    await guard.check()
    state.now += RSS_RAISE_AFTER_MS - 1
    await guard.check()
    assert.equal(pool.cap, 16, 'not before RSS_RAISE_AFTER_MS under')
    state.now += 1
    await guard.check()
    assert.equal(pool.cap, 18)
    assert.match(lines.at(-1)?.msg ?? '', /up to 18 plugin configs kept live again \(PLUGIN_MAX_LIVE_INSTANCES 20\)/)
    state.now += RSS_RAISE_AFTER_MS
    await guard.check()
    state.now += RSS_RAISE_AFTER_MS
    await guard.check()
    assert.equal(pool.cap, 20, 'never above PLUGIN_MAX_LIVE_INSTANCES')
  })

  it('does nothing with PLUGIN_RSS_LIMIT_MB 0', async () => {
    const { pool, unloaded, state, guard } = guarded(10, 0)
    await loadKeys(pool, 10)
    state.rssMb = 100_000
    await guard.check()
    assert.deepEqual([pool.cap, pool.size, unloaded.length], [10, 10, 0])
  })

  it("brings this process's real RSS back under a limit set below it by unloading aged isolates, without cutting to the floor", async () => {
    const made = poolOf(150)
    pool = made.pool
    const batch = Array.from({ length: 20 }, (_, i) => JSON.stringify({ event: `e${i}`, properties: { blob: 'x'.repeat(300) } }))
    const age = (instance: PluginInstance) => instance.processEventBatchJson(batch)
    for (let round = 0; round < 60; round++) for (let key = 1; key <= 150; key++) await made.pool.use(key, age)
    // 150 isolates that have run 60 batches hold ~4 MB each; a tenth of them unloaded give back ~2 MB each.
    const limitBytes = process.memoryUsage.rss() - 12 * MiB
    const { logger } = recordingLogger()
    const guard = new ResidentMemoryGuard(made.pool, logger, { limitBytes })
    guard.start()
    try {
      const rss = await waitFor(
        'RSS under the limit',
        () => process.memoryUsage.rss(),
        (value) => value < limitBytes,
        { timeoutMs: 60_000, intervalMs: 250 },
      )
      assert.ok(made.pool.cap < 150 && made.pool.cap >= 100, `live configs capped at ${made.pool.cap} for RSS ${Math.round(rss / MiB)} MB`)
      assert.ok(made.pool.size <= made.pool.cap)
      assert.ok(made.unloaded.length > 0 && made.unloaded.every((line) => line.endsWith(' rss')))
    } finally {
      await guard.stop()
    }
  })
})
