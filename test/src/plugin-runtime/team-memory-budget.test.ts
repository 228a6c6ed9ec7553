import assert from 'node:assert/strict'
import pino from 'pino'
import { PluginInstance, PluginLimitError } from '@plugin-server/plugin-vm'
import { breachesKey, PluginRuntime, TeamMemoryBudget } from '@plugin-server/plugin-runtime'
import { eventually } from '../harness/fleet'
import { pluginRuntimeFixture, PluginRuntimeFixture } from '../harness/plugin-runtime-fixture'
import { enablePlugin, writePlugin } from '../harness/plugins'
import { createTeam } from '@plugin-server/db'
import { disposal, loadCode, rejection } from '../plugin-vm/helpers'

const MiB = 1024 * 1024
const silent = pino({ level: 'silent' })

/** A plugin whose setupPlugin keeps `mb` MiB, written to (an ArrayBuffer's memory counts as the isolate's, outside its heap). */
const holding = (mb: number) => `
  export function setupPlugin() { globalThis.held = new Float64Array(${mb * 131072}).fill(1.5) }
  export function processEvent(event) { return event }`

async function loadHolding(mb: number, breaches: PluginLimitError[] = []): Promise<PluginInstance> {
  const { instance } = await loadCode(holding(mb), {}, { configId: `holds ${mb} MiB`, onBreach: (e) => breaches.push(e) })
  await instance.call('setupPlugin', [])
  return instance
}

/** The instance, with its heap readings counted as they complete. */
function countingReads(instance: PluginInstance): { probe: PluginInstance; reads: () => number } {
  let reads = 0
  const probe = Object.assign(Object.create(instance) as PluginInstance, {
    heapBytes: async () => {
      const bytes = await instance.heapBytes()
      reads++
      return bytes
    },
  })
  return { probe, reads: () => reads }
}

describe('TeamMemoryBudget (PLUGIN_TEAM_MEMORY_LIMIT_MB)', function () {
  this.timeout(60_000)
  const instances: PluginInstance[] = []
  let budget: TeamMemoryBudget | undefined
  afterEach(() => {
    budget?.close()
    instances.splice(0).forEach((i) => i.dispose())
  })

  it("used: disposes the team's largest isolate as a memory breach once the team's isolates hold more than the budget together; other teams are not counted against it", async () => {
    budget = new TeamMemoryBudget({ teamBytes: 48 * MiB, isolateBytes: 128 * MiB }, silent)
    const breaches: PluginLimitError[] = []
    const team1 = [await loadHolding(10, breaches), await loadHolding(20, breaches), await loadHolding(30, breaches)]
    const team2 = [await loadHolding(20, breaches), await loadHolding(20, breaches)]
    instances.push(...team1, ...team2)
    team1.forEach((i) => budget!.used(1, i))
    team2.forEach((i) => budget!.used(2, i))

    await disposal(team1[2])
    assert.deepEqual(
      [...team1, ...team2].map((i) => i.disposed),
      [false, false, true, false, false],
      'only the largest isolate of the team over its budget is disposed; team 2 holds 40 MiB, under it',
    )
    assert.equal(breaches.length, 1)
    assert.equal(breaches[0].limit, 'memory')
    const held =
      /^plugin inline \(config holds 30 MiB\) exceeded its team's memory limit \(PLUGIN_TEAM_MEMORY_LIMIT_MB, 48 MB across the team's plugins in one process\): they held (\d+) MB, this plugin the most, (3\d) MB$/.exec(
        breaches[0].message,
      )
    assert.ok(held, breaches[0].message)
    // Readings arrive in any order: the team was over its budget with the 30 and 20 MiB isolates read (51 MiB), or all three (61).
    assert.ok(Number(held[1]) > 48 && Number(held[1]) < 66, `the team held ${held[1]} MB when it was found over its budget`)
    const error = await rejection(team1[2].call('processEvent', [{ event: 'e', properties: {} }]))
    assert.ok(error instanceof PluginLimitError, `a call to the disposed isolate fails with its breach: ${error.message}`)
    assert.equal(error.message, breaches[0].message)
    assert.deepEqual(await team1[0].call('processEvent', [{ event: 'e', properties: {} }]), { event: 'e', properties: {} }, "the team's other plugins go on")
    const largest = budget.largestTeamBytes()
    assert.ok(largest > 30 * MiB && largest <= 48 * MiB, `largest team now holds ${largest} bytes`)
  })

  it("used: over PLUGIN_PROCESS_MEMORY_LIMIT_MB, has the largest isolate of a team over an even share unloaded, not disposed as a breach, until all teams' isolates are back under", async () => {
    const unloaded: [number, PluginInstance][] = []
    budget = new TeamMemoryBudget({ teamBytes: 512 * MiB, isolateBytes: 128 * MiB, processBytes: 95 * MiB }, silent, {
      onProcessExceeded: (teamId, instance) => (unloaded.push([teamId, instance]), true),
    })
    const breaches: PluginLimitError[] = []
    // Each team within its own budget; above an idle isolate's own MiB each, together ~100 MiB, and no three of the four over 95.
    const team1 = [await loadHolding(10, breaches), await loadHolding(20, breaches)]
    const team2 = [await loadHolding(40, breaches), await loadHolding(30, breaches)]
    instances.push(...team1, ...team2)
    team1.forEach((i) => budget!.used(1, i))
    team2.forEach((i) => budget!.used(2, i))
    await eventually(
      'an isolate unloaded',
      async () => unloaded.length,
      (n) => n > 0,
      10_000,
    )
    assert.deepEqual(
      unloaded.map(([teamId, instance]) => [teamId, [...team1, ...team2].indexOf(instance)]),
      [[2, 2]],
      'the 40 MiB isolate of team 2, the only team over an even share (47.5 MiB): one is enough',
    )
    assert.deepEqual(breaches, [], 'not a breach of its config: nothing is disposed or counted against it')
    assert.ok(
      [...team1, ...team2].every((i) => !i.disposed),
      'unloading is left to the handler (the plugin manager evicts it)',
    )
    const held = budget.processBytes()
    assert.ok(held > 55 * MiB && held <= 95 * MiB, `the process's isolates now hold ${held} bytes above their own`)
  })

  it('used: over PLUGIN_PROCESS_MEMORY_LIMIT_MB, passes over an isolate that cannot be unloaded now (still setting up) for the next largest', async () => {
    const asked: number[] = []
    const team = [await loadHolding(40), await loadHolding(30)]
    instances.push(...team)
    budget = new TeamMemoryBudget({ teamBytes: 512 * MiB, isolateBytes: 128 * MiB, processBytes: 50 * MiB }, silent, {
      // The 40 MiB one is, say, still in its setupPlugin: not in the pool yet.
      onProcessExceeded: (_teamId, instance) => (asked.push(team.indexOf(instance)), instance === team[1]),
    })
    team.forEach((i) => budget!.used(1, i))
    await eventually(
      'the 30 MiB isolate unloaded',
      async () => asked,
      (a) => a.includes(1),
      10_000,
    )
    assert.deepEqual(asked, [0, 1], 'asked for the largest first, then the next')
    const held = budget.processBytes()
    assert.ok(held > 35 * MiB && held <= 45 * MiB, `the 40 MiB isolate still counts: ${held} bytes`)
  })

  it('used: reads the heap again after a call only once the isolate has used 5 ms of CPU since its last reading', async () => {
    budget = new TeamMemoryBudget({ teamBytes: 48 * MiB, isolateBytes: 128 * MiB }, silent)
    const { instance } = await loadCode(`
      export function processEvent(event) { return event }
      export function spin(ms) { const end = Date.now() + ms; while (Date.now() < end) {} }
      export const jobs = { spin: (ms) => spin(ms) }`)
    instances.push(instance)
    const { probe, reads } = countingReads(instance)
    budget.used(1, probe)
    await eventually(
      'the first reading, at load',
      async () => reads(),
      (n) => n === 1,
      5000,
    )

    await instance.runJob('spin', 20)
    budget.used(1, probe)
    await eventually(
      'a reading after a call that used 20 ms of CPU',
      async () => reads(),
      (n) => n === 2,
      5000,
    )

    const cpuBefore = instance.cpuTimeNs()
    for (let i = 0; i < 50; i++) {
      await instance.call('processEvent', [{ event: 'e', properties: {} }])
      budget.used(1, probe)
    }
    const cpuMs = Number(instance.cpuTimeNs() - cpuBefore) / 1e6
    // +1: the CPU of the readings themselves, and of the spin call's reading, falls between them.
    assert.ok(reads() - 2 <= Math.floor(cpuMs / 5) + 1, `${reads() - 2} readings after 50 calls using ${cpuMs.toFixed(1)} ms of CPU`)
  })

  it('reads isolates that used CPU outside calls once a second: a timer filling memory is caught without any call', async () => {
    budget = new TeamMemoryBudget({ teamBytes: 32 * MiB, isolateBytes: 128 * MiB }, silent)
    const breaches: PluginLimitError[] = []
    const { instance } = await loadCode(
      `export function setupPlugin() {
        globalThis.held = []
        const timer = setInterval(() => { held.push(new Array(131072).fill(1.5)); if (held.length >= 96) clearInterval(timer) }, 10)
      }`,
      {},
      { onBreach: (e) => breaches.push(e) },
    )
    instances.push(instance)
    await instance.call('setupPlugin', [])
    budget.used(1, instance)
    await disposal(instance, 15_000)
    assert.equal(breaches.length, 1)
    assert.match(breaches[0].message, /exceeded its team's memory limit \(PLUGIN_TEAM_MEMORY_LIMIT_MB, 32 MB/)
  })

  it("admit: lets as many of a team's loads go ahead at once as its budget has room for at their whole limit, one always, and the rest as loads are read", async () => {
    budget = new TeamMemoryBudget({ teamBytes: 48 * MiB, isolateBytes: 16 * MiB }, silent)
    const admitted: string[] = []
    const admit = (teamId: number, name: string) => budget!.admit(teamId).then((release) => (admitted.push(name), release))
    const first = await Promise.all([admit(1, 'a'), admit(1, 'b'), admit(1, 'c')])
    const waiting = admit(1, 'd')
    const otherTeam = await admit(2, 'other team')
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(admitted, ['a', 'b', 'c', 'other team'], "three loads at 16 MiB fill the team's 48 MiB; another team's load is not held back")
    first[0]()
    first[0]()
    const fourth = await waiting
    assert.deepEqual(admitted, ['a', 'b', 'c', 'other team', 'd'], 'a release lets one waiting load in (releasing twice counts once)')
    ;[first[1], first[2], fourth, otherTeam].forEach((release) => release())

    const small = new TeamMemoryBudget({ teamBytes: 8 * MiB, isolateBytes: 16 * MiB }, silent)
    const only = await small.admit(1)
    let second = false
    const next = small.admit(1).then((release) => ((second = true), release))
    await new Promise((r) => setImmediate(r))
    assert.equal(second, false, 'a budget under one isolate limit admits one load at a time')
    only()
    ;(await next)()
    assert.equal(second, true)
    small.close()
  })

  it("track: ends a load's admission at its first reading; from then on the team counts what the isolate was read at, not its whole limit", async () => {
    const reading = async (mb: number) => {
      const team = new TeamMemoryBudget({ teamBytes: 72 * MiB, isolateBytes: 32 * MiB }, silent)
      const [a, b] = await Promise.all([team.admit(1), team.admit(1)])
      let third = false
      void team.admit(1).then(() => (third = true))
      const { instance } = await loadCode(holding(mb))
      instances.push(instance)
      await instance.call('setupPlugin', [])
      team.track(1, instance, a)
      team.used(1, instance)
      await eventually(
        `the ${mb} MiB isolate read`,
        async () => team.largestTeamBytes(),
        (bytes) => bytes > 0,
        5000,
      )
      await new Promise((r) => setImmediate(r))
      const admitted = third
      b()
      team.close()
      return admitted
    }
    assert.equal(await reading(4), true, 'read at ~4 MiB, with one more load in flight: 4 + 2 × 32 fits 72 MiB')
    assert.equal(await reading(20), false, 'read at ~20 MiB: 20 + 2 × 32 does not, while the other load is in flight')
  })

  describe('in the plugin manager', () => {
    let fx: PluginRuntimeFixture
    let runtime: PluginRuntime
    beforeEach(async () => {
      fx = await pluginRuntimeFixture({ PLUGIN_TEAM_MEMORY_LIMIT_MB: '40', PLUGIN_BREAKER_MAX_BREACHES: '1', PLUGIN_RECONCILE_INTERVAL_MS: '100000' })
    })
    afterEach(async () => fx.close())

    it("disables the config whose isolate held the most of a team over its budget, says why in the config's logs, and counts it in plugin_team_memory_exceeded_total", async () => {
      const small = await enablePlugin(fx.management, fx.team.id, writePlugin('holds-10', holding(10)), {}, { order: 1 })
      const big = await enablePlugin(fx.management, fx.team.id, writePlugin('holds-36', holding(36)), {}, { order: 2 })
      runtime = await fx.start()
      await runtime.manager.teamConfigs(fx.team.id)
      const row = await eventually(
        'the larger config disabled',
        async () =>
          (
            await fx.db.pool.query<{ enabled: boolean; disabled_reason: string | null }>('SELECT enabled, disabled_reason FROM plugin_configs WHERE id = $1', [
              big.id,
            ])
          ).rows[0],
        (r) => !r.enabled,
        20_000,
      )
      assert.match(
        row.disabled_reason ?? '',
        /plugin disabled by the server: exceeded its memory limit 1 times? in 10 minutes \(last: .*exceeded its team's memory limit \(PLUGIN_TEAM_MEMORY_LIMIT_MB, 40 MB/,
      )
      await runtime.services.logs.flush()
      const { rows } = await fx.db.pool.query<{ message: string }>('SELECT message FROM plugin_log_entries WHERE plugin_config_id = $1 ORDER BY id', [big.id])
      assert.ok(
        rows.some((r) => /exceeded its team's memory limit .*; the isolate was disposed/.test(r.message)),
        `the config's logs say why: ${JSON.stringify(rows)}`,
      )
      assert.equal(runtime.manager.state(small.id)?.status, 'ready', 'the smaller config stays')
      const [config] = await runtime.manager.teamConfigs(fx.team.id)
      assert.equal(config.record.id, small.id)
      assert.deepEqual(await config.use((i) => i.call('processEvent', [{ event: 'e', properties: {} }])), { event: 'e', properties: {} })
      const metrics = await fx.ctx.registry.getSingleMetricAsString('plugin_team_memory_exceeded_total')
      assert.match(metrics, /^plugin_team_memory_exceeded_total 1$/m)
      const largest = await fx.ctx.registry.getSingleMetric('plugin_team_memory_largest_bytes')!.get()
      assert.ok(largest.values[0].value > 10 * MiB && largest.values[0].value < 40 * MiB, `largest team: ${largest.values[0].value} bytes`)
      assert.equal(
        await fx.ctx.newRedisConnection('check').exists(breachesKey(fx.prefix, big.id)),
        0,
        'the breaker count starts again once it disabled the config',
      )
    })
  })

  describe('in the plugin manager, over PLUGIN_PROCESS_MEMORY_LIMIT_MB (all teams together)', () => {
    let fx: PluginRuntimeFixture
    let runtime: PluginRuntime
    beforeEach(async () => {
      fx = await pluginRuntimeFixture({ PLUGIN_PROCESS_MEMORY_LIMIT_MB: '60', PLUGIN_BREAKER_MAX_BREACHES: '1', PLUGIN_RECONCILE_INTERVAL_MS: '100000' })
    })
    afterEach(async () => fx.close())

    it("unloads the largest isolate of a team over an even share, says so in its config's logs, counts it, and loads it again on next use, enabled", async () => {
      const other = await createTeam(fx.db.pool, 'other')
      const small = await enablePlugin(fx.management, other.id, writePlugin('holds-15', holding(15)))
      const big = await enablePlugin(fx.management, fx.team.id, writePlugin('holds-50', holding(50)))
      runtime = await fx.start()
      await runtime.manager.teamConfigs(other.id)
      await runtime.manager.teamConfigs(fx.team.id)
      await eventually(
        'the larger config unloaded',
        async () =>
          Number(
            /^plugin_process_memory_unloaded_total (\d+)$/m.exec(await fx.ctx.registry.getSingleMetricAsString('plugin_process_memory_unloaded_total'))?.[1],
          ),
        (n) => n >= 1,
        20_000,
      )
      await runtime.services.logs.flush()
      const logged = async () =>
        (await fx.db.pool.query<{ message: string }>('SELECT message FROM plugin_log_entries WHERE plugin_config_id = $1 ORDER BY id', [big.id])).rows
      const rows = await eventually('the unload said in the config logs', logged, (r) => r.some((x) => /^plugin unloaded \(memory: /.test(x.message)), 10_000)
      assert.ok(rows.some((r) => /PLUGIN_PROCESS_MEMORY_LIMIT_MB, this team's among the most; loaded again on next use\)$/.test(r.message)))
      const { rows: configs } = await fx.db.pool.query<{ enabled: boolean }>('SELECT enabled FROM plugin_configs WHERE id = ANY($1) ORDER BY id', [
        [small.id, big.id],
      ])
      assert.deepEqual(
        configs.map((c) => c.enabled),
        [true, true],
        'neither config is disabled: unloading is not a breach',
      )
      const [smallConfig] = await runtime.manager.teamConfigs(other.id)
      assert.deepEqual(
        await smallConfig.use((i) => i.call('processEvent', [{ event: 'e', properties: {} }])),
        { event: 'e', properties: {} },
        "the other team's plugin stays",
      )
    })

    it('warns at start, naming both variables, that PLUGIN_TEAM_MEMORY_LIMIT_MB at or above it (512 here) can never be a breach; not once it is below', async () => {
      const warnings = async (env: Record<string, string>) => {
        await fx.close()
        fx = await pluginRuntimeFixture({ PLUGIN_PROCESS_MEMORY_LIMIT_MB: '60', PLUGIN_RECONCILE_INTERVAL_MS: '100000', ...env })
        const lines: { level: number; msg: string }[] = []
        fx.ctx.logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) })
        runtime = await fx.start()
        return lines.filter((l) => l.level === 40 && l.msg.startsWith('PLUGIN_TEAM_MEMORY_LIMIT_MB')).map((l) => l.msg)
      }
      assert.deepEqual(await warnings({}), [
        "PLUGIN_TEAM_MEMORY_LIMIT_MB (512) is not below PLUGIN_PROCESS_MEMORY_LIMIT_MB (60): a team filling its plugins' heaps is unloaded again and again at the process limit instead of being a breach the circuit breaker disables; set it lower",
      ])
      assert.deepEqual(await warnings({ PLUGIN_TEAM_MEMORY_LIMIT_MB: '40' }), [])
    })
  })
})
