import assert from 'node:assert/strict'
import pino from 'pino'
import { createTeam, Team } from '@plugin-server/db'
import type { PluginEvent } from '@plugin-server/plugin-vm'
import { createConfig, installPluginFromPath } from '@plugin-server/management'
import { PluginRuntime, readSetupState, setupRetryDelayMs } from '@plugin-server/plugin-runtime'
import { eventually } from '../harness/fleet'
import { pluginRuntimeFixture, PluginRuntimeFixture } from '../harness/plugin-runtime-fixture'
import { enablePlugin, writePlugin } from '../harness/plugins'
import { storeUncompiledPlugin } from '../harness/stored-plugin'

type LogLine = Record<string, unknown>

const LEFT_PAD_USER = `import leftPad from 'left-pad'
export function processEvent(e) { e.properties.padded = leftPad('7', 3, '0'); return e }`
const TAGGER = (tag: string) => `export function processEvent(e) { e.properties = { ...e.properties, ${tag}: true }; return e }`

describe('PluginManager: a plugin that fails to load', function () {
  this.timeout(60_000)
  let fx: PluginRuntimeFixture
  let runtime: PluginRuntime
  let team: Team
  let pinoLines: LogLine[]

  /** Starts the fixture with pino lines kept for the test to read (the fixture's logger is silent). */
  async function start(env: Record<string, string>): Promise<void> {
    fx = await pluginRuntimeFixture({ PLUGIN_RECONCILE_INTERVAL_MS: '100000', ...env })
    team = fx.team
    pinoLines = []
    Object.assign(fx.ctx, { logger: pino({ level: 'info' }, { write: (line: string) => void pinoLines.push(JSON.parse(line) as LogLine) }) })
  }
  afterEach(async () => fx.close())

  const configError = async (id: number) =>
    (await fx.db.pool.query<{ error: Record<string, unknown> | null; enabled: boolean }>('SELECT error, enabled FROM plugin_configs WHERE id = $1', [id]))
      .rows[0]
  const systemErrors = async (id: number) => {
    await runtime.services.logs.flush()
    const { rows } = await fx.db.pool.query<{ message: string }>(
      `SELECT message FROM plugin_log_entries WHERE plugin_config_id = $1 AND source = 'SYSTEM' AND type = 'ERROR' ORDER BY id`,
      [id],
    )
    return rows.map((r) => r.message)
  }
  const failures = async (reason: string) =>
    (await fx.ctx.registry.getSingleMetric('plugin_load_failures_total')?.get())?.values.find((v) => v.labels.reason === reason)?.value ?? 0
  const createEnabled = async (teamId: number, pluginId: number, order = 0) => createConfig(fx.management, { teamId, plugin: pluginId, enabled: true, order })
  /** One ingest batch of the team through its chain, as the ingest worker runs it: the configs that run, and the event they make. */
  const batch = async (teamId: number) => {
    const configs = await runtime.manager.teamConfigs(teamId)
    let event: PluginEvent = { event: 'e', properties: {} }
    for (const config of configs) {
      const [result] = await config.use((instance) => instance.processEventBatch([event]))
      assert.ok(result.ok && result.event, JSON.stringify(result))
      event = result.event
    }
    return { ids: configs.map((c) => c.record.id), properties: event.properties }
  }

  it('puts the reason on the config, in its logs once per plugin version, in pino and in plugin_load_failures_total, while the other configs run', async () => {
    await start({})
    const broken = await storeUncompiledPlugin(fx.db.pool, { 'plugin.json': JSON.stringify({ name: 'left-pad-user' }), 'index.ts': LEFT_PAD_USER })
    const brokenConfig = await createEnabled(team.id, broken.id, 1)
    const healthy = await enablePlugin(fx.management, team.id, writePlugin('healthy', TAGGER('healthy')), {}, { order: 2 })
    const otherTeam = await createTeam(fx.db.pool, 'b')
    const otherConfig = await enablePlugin(fx.management, otherTeam.id, writePlugin('other-team', TAGGER('other')))
    runtime = await fx.start()

    for (let i = 0; i < 200; i++) {
      assert.deepEqual(await batch(team.id), { ids: [healthy.id], properties: { healthy: true } }, `batch ${i}: the team's healthy config runs alone`)
      assert.deepEqual(await batch(otherTeam.id), { ids: [otherConfig.id], properties: { other: true } }, `batch ${i}: another team is untouched`)
    }

    const reason = 'plugin left-pad-user failed to compile: index.ts:1: module "left-pad" is not available to plugins'
    assert.equal(await failures('missing_module'), 1, '200 batches, one load attempt: the next waits for the backoff')
    const state = runtime.manager.state(brokenConfig.id)
    assert.ok(state?.status === 'failed', JSON.stringify(state))
    assert.equal(state.reason, 'missing_module')
    assert.equal(state.attempts, 1)
    assert.ok(Math.abs(state.nextAttemptAt - Date.now() - setupRetryDelayMs(1)) < 5_000, `next attempt at ${state.nextAttemptAt}`)
    const row = await eventually(
      'error on the config',
      () => configError(brokenConfig.id),
      (r) => r.error !== null,
      5_000,
    )
    assert.equal(row.enabled, true, 'a plugin that fails to load stays enabled: a new version fixes it')
    assert.deepEqual(
      { ...row.error, time: typeof row.error?.time },
      {
        message: reason,
        name: 'PluginLoadError',
        reason: 'missing_module',
        plugin_version: 1,
        time: 'string',
      },
    )
    const logLine = `plugin failed to load (version 1, missing_module): ${reason}; the team's events go on without it, and loading is tried again with backoff and as soon as a new version is installed`
    assert.deepEqual(await systemErrors(brokenConfig.id), [logLine])
    const pinoLine = pinoLines.find((l) => l.msg === 'plugin failed to load')
    assert.ok(pinoLine, 'a pino line')
    assert.deepEqual(
      [pinoLine.level, pinoLine.team_id, pinoLine.plugin_id, pinoLine.plugin_config_id, pinoLine.plugin_version, pinoLine.reason, pinoLine.err],
      [50, team.id, broken.id, brokenConfig.id, 1, 'missing_module', reason],
    )
    const published = await readSetupState(runtime.services.redis, fx.prefix, brokenConfig.id)
    assert.deepEqual([published.status, published.attempts, published.lastError], ['failed', 1, reason])

    // A new version that is still broken: reloaded at once, its own reason and its own log line.
    const reload = { redis: runtime.services.redis, queuePrefix: fx.prefix }
    await storeUncompiledPlugin(
      fx.db.pool,
      { 'plugin.json': JSON.stringify({ name: 'left-pad-user' }), 'index.ts': 'export function processEvent(e) {\n  return e +\n}' },
      { reload },
    )
    await eventually(
      'version 2 tried',
      async () => (await batch(team.id), (await configError(brokenConfig.id)).error),
      (error) => error?.plugin_version === 2,
      5_000,
    )
    const messages = await systemErrors(brokenConfig.id)
    assert.equal(messages.length, 2, messages.join('\n'))
    assert.match(messages[1], /^plugin failed to load \(version 2, compile_error\): plugin left-pad-user failed to compile: index\.ts:3: Unexpected "}"/)

    // Fixed: the upload reloads it at once (not after the backoff), the error goes, events go through it.
    await installPluginFromPath(fx.management, writePlugin('left-pad-user', TAGGER('padded')))
    const fixed = await eventually(
      'fixed version runs',
      () => batch(team.id),
      (b) => b.ids.length === 2,
      3_000,
    )
    assert.deepEqual(fixed, { ids: [brokenConfig.id, healthy.id], properties: { padded: true, healthy: true } })
    await eventually(
      'error cleared',
      async () => (await configError(brokenConfig.id)).error,
      (error) => error === null,
      5_000,
    )
    assert.equal(runtime.manager.state(brokenConfig.id)?.status, 'ready')
    assert.equal(await failures('missing_module'), 1)
    assert.equal(await failures('compile_error'), 1)
  })

  it('tries loading again on the setup backoff, capped at its last delay, however many batches come, and never disables the config', async () => {
    const TIME_SCALE = 100
    await start({ TIME_SCALE: String(TIME_SCALE), PLUGIN_SETUP_MAX_ATTEMPTS: '4' })
    const broken = await storeUncompiledPlugin(fx.db.pool, { 'plugin.json': JSON.stringify({ name: 'left-pad-user' }), 'index.ts': LEFT_PAD_USER })
    const config = await createEnabled(team.id, broken.id)
    runtime = await fx.start()

    const attempts: number[] = []
    let batches = 0
    const until = Date.now() + 2_000
    while (Date.now() < until) {
      await batch(team.id)
      batches++
      const state = runtime.manager.state(config.id)
      if (state?.status === 'failed' && state.attempts > attempts.length) attempts.push(Date.now())
      await new Promise((resolve) => setImmediate(resolve))
    }
    // Delays 50, 100, 200, 400 ms, then 400 ms each (attempt 4's): attempts at about 0, 50, 150, 350, 750, 1150, 1550, 1950 ms.
    assert.ok(batches > 500, `${batches} batches`)
    assert.ok(attempts.length >= 6 && attempts.length <= 8, `${attempts.length} load attempts in ${batches} batches`)
    attempts.slice(1).forEach((t, i) => {
      const delay = setupRetryDelayMs(Math.min(i + 1, 4), TIME_SCALE)
      assert.ok(t - attempts[i] >= delay - 5, `attempt ${i + 2} came ${t - attempts[i]} ms after attempt ${i + 1}, before its ${delay} ms backoff`)
    })
    assert.equal(await failures('missing_module'), attempts.length, 'the metric counts attempts')
    assert.equal((await systemErrors(config.id)).length, 1, 'one log line for the version, however many attempts')
    assert.equal(pinoLines.filter((l) => l.msg === 'plugin failed to load').length, attempts.length, 'pino has every attempt')
    assert.equal((await configError(config.id)).enabled, true)
  })

  it('names the reason for each way a stored plugin can be unloadable, each config on its own', async () => {
    await start({})
    const pool = fx.db.pool
    const cases: { name: string; reason: string; message: RegExp; plugin: () => Promise<number> }[] = [
      {
        name: 'syntax-error',
        reason: 'compile_error',
        message: /^plugin syntax-error failed to compile: index\.ts:1: Expected "\)" but found "{"$/,
        plugin: async () =>
          (await storeUncompiledPlugin(pool, { 'plugin.json': '{"name":"syntax-error"}', 'index.ts': 'export function processEvent(e {  return e }' })).id,
      },
      {
        name: 'bad-plugin-json',
        reason: 'invalid_plugin_json',
        message: /^plugin\.json: is not valid JSON/,
        plugin: async () =>
          (
            await storeUncompiledPlugin(
              pool,
              { 'plugin.json': '{"name": "bad-plugin-json",', 'index.ts': TAGGER('x') },
              { pluginJson: { name: 'bad-plugin-json' } },
            )
          ).id,
      },
      {
        name: 'renamed',
        reason: 'source_mismatch',
        message: /^plugin renamed: the stored plugin\.json names the plugin "something-else", not "renamed" \(version 1\)$/,
        plugin: async () =>
          (await storeUncompiledPlugin(pool, { 'plugin.json': '{"name":"something-else"}', 'index.ts': TAGGER('x') }, { pluginJson: { name: 'renamed' } })).id,
      },
      {
        name: 'new-fields',
        reason: 'source_mismatch',
        message: /^plugin new-fields: the config fields of the stored plugin\.json differ from those the plugin was installed with \(version 1\)/,
        plugin: async () =>
          (
            await storeUncompiledPlugin(
              pool,
              { 'plugin.json': JSON.stringify({ name: 'new-fields', config: [{ key: 'token', type: 'string', secret: true }] }), 'index.ts': TAGGER('x') },
              { pluginJson: { name: 'new-fields' } },
            )
          ).id,
      },
      {
        name: 'missing-main',
        reason: 'source_mismatch',
        message: /^plugin missing-main: main file "dist\/index\.js" \(plugin\.json main\) not found$/,
        plugin: async () =>
          (await storeUncompiledPlugin(pool, { 'plugin.json': '{"name":"missing-main","main":"dist/index.js"}', 'index.ts': TAGGER('x') })).id,
      },
      {
        name: 'throws-on-load',
        reason: 'evaluation_error',
        message: /^plugin throws-on-load \(config \d+\) failed to load: .*no database configured/,
        plugin: async () =>
          (await installPluginFromPath(fx.management, writePlugin('throws-on-load', `throw new Error('no database configured')\n${TAGGER('x')}`))).plugin.id,
      },
      {
        name: 'requires-at-load',
        reason: 'missing_module',
        message: /^plugin requires-at-load \(config \d+\) failed to load: .*module "left-pad" is not available to plugins/,
        plugin: async () =>
          (
            await installPluginFromPath(
              fx.management,
              writePlugin('requires-at-load', `const name = ['left', 'pad'].join('-')\nconst pad = require(name)\n${TAGGER('x')}`),
            )
          ).plugin.id,
      },
    ]
    const configs = new Map<string, number>()
    for (const [i, c] of cases.entries()) configs.set(c.name, (await createEnabled(team.id, await c.plugin(), i)).id)
    const healthy = await enablePlugin(fx.management, team.id, writePlugin('healthy', TAGGER('healthy')), {}, { order: 100 })
    runtime = await fx.start()

    assert.deepEqual(await batch(team.id), { ids: [healthy.id], properties: { healthy: true } })
    for (const c of cases) {
      const id = configs.get(c.name)!
      const { error } = await eventually(
        `${c.name}: error on the config`,
        () => configError(id),
        (r) => r.error !== null,
        5_000,
      )
      assert.equal(error?.reason, c.reason, `${c.name}: ${JSON.stringify(error)}`)
      assert.match(String(error?.message), c.message, c.name)
      const state = runtime.manager.state(id)
      assert.ok(state?.status === 'failed' && state.reason === c.reason, `${c.name}: ${JSON.stringify(state)}`)
      assert.equal((await systemErrors(id)).length, 1, c.name)
    }
    for (const reason of ['compile_error', 'invalid_plugin_json', 'evaluation_error']) assert.equal(await failures(reason), 1, reason)
    assert.equal(await failures('source_mismatch'), 3)
    assert.equal(await failures('missing_module'), 1)
  })
  it('says which write failed and why when a config that loaded fine cannot have its stored load error cleared (Postgres read-only)', async () => {
    await start({})
    await enablePlugin(fx.management, team.id, writePlugin('loads-fine', TAGGER('fine')))
    // What a standby or a read-only database answers to the clearing UPDATE, whether or not it matches a row.
    await fx.db.pool.query(`CREATE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'cannot execute UPDATE in a read-only transaction' USING ERRCODE = '25006'; END $$`)
    await fx.db.pool.query(`CREATE TRIGGER read_only BEFORE UPDATE ON plugin_configs FOR EACH STATEMENT EXECUTE FUNCTION refuse_write()`)
    runtime = await fx.start()
    const [config] = await runtime.manager.teamConfigs(team.id)
    const line = await eventually(
      'the warning about the clearing',
      async () => pinoLines.find((l) => l.plugin_config_id === config.record.id && l.level === 40),
      (l) => l !== undefined,
    )
    assert.equal(line!.msg, "could not clear the config's stored load error: Postgres is read-only (25006: cannot execute UPDATE in a read-only transaction)")
    assert.ok(!pinoLines.some((l) => /not stored on the config/.test(String(l.msg))), 'nothing says a load error was not stored')
  })
})
