import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import pino from 'pino'
import type { Team } from '@plugin-server/db'
import { PluginConfigUnavailableError, PluginRuntime, setConfigError, setupRetryDelayMs } from '@plugin-server/plugin-runtime'
import { redisKeys } from '@plugin-server/core'
import { installPluginFromPath, setAttachment, setConfigEnabled, updateConfig } from '@plugin-server/management'
import type { TestDatabase } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { pluginRuntimeFixture, PluginRuntimeFixture } from '../harness/plugin-runtime-fixture'
import { enablePlugin, writePlugin } from '../harness/plugins'

describe('PluginManager (setupPlugin / teardownPlugin lifecycle)', function () {
  this.timeout(60_000)
  const TIME_SCALE = 500
  let fx: PluginRuntimeFixture
  let runtime: PluginRuntime
  let db: TestDatabase
  let team: Team
  let prefix: string
  let ctx: PluginRuntimeFixture['ctx']
  let management: PluginRuntimeFixture['management']

  beforeEach(async () => {
    fx = await pluginRuntimeFixture({ TIME_SCALE: String(TIME_SCALE), PLUGIN_RECONCILE_INTERVAL_MS: '100000' })
    ;({ db, team, prefix, ctx, management } = fx)
  })
  afterEach(async () => fx.close())

  const logs = async (configId: number) => {
    await runtime.services.logs.flush()
    const { rows } = await db.pool.query<{ source: string; type: string; message: string }>(
      'SELECT source, type, message FROM plugin_log_entries WHERE plugin_config_id = $1 ORDER BY id',
      [configId],
    )
    return rows
  }

  it('retries a setupPlugin that throws RetryError on the documented schedule, 10 attempts, then disables the config fleet-wide', async () => {
    const config = await enablePlugin(
      management,
      team.id,
      writePlugin(
        'flaky-setup',
        `
      import { RetryError } from '@posthog/plugin-scaffold'
      export async function setupPlugin({ cache }) {
        await cache.lpush('attempts', [String(Date.now())])
        throw new RetryError('service down')
      }
      export function processEvent(e) { return e }`,
      ),
    )
    runtime = await fx.start()
    // Each ask for the team's configs is what retries setupPlugin once its backoff has passed. The
    // disable is waited for in Postgres: the manager's 'disabled' state lasts only until the reload
    // it announces unloads the config, which a poll on a busy machine can miss.
    await eventually(
      'config disabled',
      async () => {
        await runtime.manager.teamConfigs(team.id)
        const { rows } = await db.pool.query<{ enabled: boolean }>('SELECT enabled FROM plugin_configs WHERE id = $1', [config.id])
        return rows[0].enabled
      },
      (enabled) => !enabled,
      30_000,
    )
    assert.ok([undefined, 'disabled'].includes(runtime.manager.state(config.id)?.status), 'the manager holds the config disabled, or has unloaded it')
    const { rows } = await db.pool.query('SELECT enabled, disabled_reason FROM plugin_configs WHERE id = $1', [config.id])
    assert.equal(rows[0].enabled, false)
    assert.equal(rows[0].disabled_reason, 'setupPlugin still failing with RetryError after 10 attempts: service down')
    const attempts = (await ctx.newRedisConnection('check').lrange(`${prefix}:cache:${config.plugin_id}:${team.id}:attempts`, 0, -1)).map(Number).reverse()
    assert.equal(attempts.length, 10)
    attempts.slice(1).forEach((t, i) => {
      const gap = t - attempts[i]
      assert.ok(
        gap >= setupRetryDelayMs(i + 1, TIME_SCALE) - 5,
        `attempt ${i + 2} came ${gap} ms after attempt ${i + 1}, not before the ${setupRetryDelayMs(i + 1, TIME_SCALE)} ms backoff`,
      )
    })
    const messages = (await logs(config.id)).map((r) => `${r.type} ${r.message}`)
    assert.equal(messages.filter((m) => m.startsWith('WARN setupPlugin failed with RetryError')).length, 9)
    // An ERROR row's first line says what failed; the plugin's stack frames follow it.
    const disabled = messages.find((m) => m.startsWith('ERROR plugin disabled: '))?.split('\n') ?? []
    assert.equal(disabled[0], 'ERROR plugin disabled: setupPlugin still failing with RetryError after 10 attempts: service down')
    assert.match(disabled[1] ?? '', /^ {4}at setupPlugin \(plugin\//)
    assert.deepEqual(await runtime.manager.teamConfigs(team.id), [], 'a disabled config does not run')
  })

  it('disables at once, with the reason, a config whose setupPlugin throws any other error', async () => {
    const config = await enablePlugin(
      management,
      team.id,
      writePlugin('broken-setup', `export function setupPlugin() { throw new Error('missing API key') }\nexport function processEvent(e) { return e }`),
    )
    runtime = await fx.start()
    assert.deepEqual(await runtime.manager.teamConfigs(team.id), [])
    const { rows } = await db.pool.query('SELECT enabled, disabled_reason, error FROM plugin_configs WHERE id = $1', [config.id])
    assert.equal(rows[0].enabled, false)
    assert.equal(rows[0].disabled_reason, 'setupPlugin failed: missing API key')
    assert.equal(rows[0].error.message, 'setupPlugin failed: missing API key')
  })

  it('disables a config whose setupPlugin throws a message with NULs and lone surrogates, which Postgres would refuse, and stores its processEvent errors so', async () => {
    const config = await enablePlugin(
      management,
      team.id,
      writePlugin('nul-setup', `export function setupPlugin() { throw new Error('bad \\u0000 key \\ud800') }\nexport function processEvent(e) { return e }`),
    )
    runtime = await fx.start()
    // Before, Postgres refused the disable, so the config stayed enabled and every batch of its team failed setting it up again.
    assert.deepEqual(await runtime.manager.teamConfigs(team.id), [])
    const { rows } = await db.pool.query('SELECT enabled, disabled_reason, error FROM plugin_configs WHERE id = $1', [config.id])
    assert.equal(rows[0].enabled, false)
    assert.equal(rows[0].disabled_reason, 'setupPlugin failed: bad  key \ufffd')
    assert.equal(rows[0].error.message, 'setupPlugin failed: bad  key \ufffd')
    await setConfigError(db.pool, config.id, { name: 'Error', message: 'processEvent: \u0000', time: new Date().toISOString() })
    const after = await db.pool.query('SELECT error FROM plugin_configs WHERE id = $1', [config.id])
    assert.equal(after.rows[0].error.message, 'processEvent: ', 'a config error with a NUL is stored, not refused in silence')
  })

  it('does not disable on this worker alone a config whose setupPlugin failed when Postgres refuses the disable: it is set up again, and disabled once Postgres takes it', async () => {
    const config = await enablePlugin(
      management,
      team.id,
      writePlugin('broken-setup', `export function setupPlugin() { throw new Error('missing API key') }\nexport function processEvent(e) { return e }`),
    )
    runtime = await fx.start()
    await db.pool.query(`CREATE FUNCTION refuse_update() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'updates refused'; END $$ LANGUAGE plpgsql`)
    await db.pool.query('CREATE TRIGGER refuse_update BEFORE UPDATE ON plugin_configs FOR EACH ROW EXECUTE FUNCTION refuse_update()')
    try {
      await assert.rejects(runtime.manager.teamConfigs(team.id), (err: unknown) => {
        assert.ok(err instanceof PluginConfigUnavailableError, String(err))
        assert.match(err.message, new RegExp(`broken-setup \\(${config.id}\\): updates refused`))
        return true
      })
      assert.equal(runtime.manager.state(config.id)?.status, 'pending', 'still what Postgres says: enabled, not set up')
    } finally {
      await db.pool.query('DROP TRIGGER refuse_update ON plugin_configs')
    }
    assert.deepEqual(await runtime.manager.teamConfigs(team.id), [])
    // Disabled, or already gone from the manager: the disable's own reload can drop it first on a busy machine.
    assert.ok([undefined, 'disabled'].includes(runtime.manager.state(config.id)?.status), String(runtime.manager.state(config.id)?.status))
    const { rows } = await db.pool.query('SELECT enabled, disabled_reason FROM plugin_configs WHERE id = $1', [config.id])
    assert.deepEqual(rows[0], { enabled: false, disabled_reason: 'setupPlugin failed: missing API key' })
  })

  it("takes the config's secrets out of an error that fails a use, in each of its text properties, before the role sees it", async () => {
    const secret = 'sk_live_"quoted\\+/=key'
    await enablePlugin(
      management,
      team.id,
      writePlugin(
        'secret-thrower',
        `export function processEvent(e) { return e }
      export async function onEvent(e, { config }) { throw new Error('refused ' + config.apiKey + ' in ' + JSON.stringify({ key: config.apiKey })) }`,
        [{ key: 'apiKey', type: 'string', secret: true }],
      ),
      { apiKey: secret },
    )
    runtime = await fx.start()
    const [active] = await runtime.manager.teamConfigs(team.id)
    const error = await active
      .use((instance) => instance.call('onEvent', [{ event: 'e' }]))
      .then(
        () => assert.fail('onEvent threw'),
        (err: Error) => err,
      )
    assert.match(error.message, /refused \*\*\* in \{"key":"\*\*\*"\}/)
    const texts = Object.getOwnPropertyNames(error).map((key) => String((error as unknown as Record<string, unknown>)[key]))
    assert.ok(
      texts.some((text) => text.includes('at onEvent')),
      'the stack was kept',
    )
    for (const form of [secret, JSON.stringify(secret).slice(1, -1)]) assert.ok(!texts.some((text) => text.includes(form)), `${form} in ${texts.join('\n')}`)
  })

  it("scrubs a secret attachment's key from what its plugin logs, as a secret value's", async () => {
    const privateKey = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n'
    const config = await enablePlugin(
      management,
      team.id,
      writePlugin(
        'attachment-logger',
        `export function processEvent(e, { attachments }) {
          const key = JSON.parse(attachments.googleKey.contents.toString())
          console.log('key file', attachments.googleKey.contents.toString())
          console.log('one line', key.private_key.split('\\n')[1])
          return e
        }`,
        [{ key: 'googleKey', type: 'attachment', secret: true }],
      ),
    )
    const key = { type: 'service_account', private_key: privateKey, client_email: 'x@example.iam.gserviceaccount.com' }
    await setAttachment(management, config.id, {
      key: 'googleKey',
      file_name: 'key.json',
      content_type: 'application/json',
      contents: Buffer.from(JSON.stringify(key)),
    })
    runtime = await fx.start()
    const [active] = await runtime.manager.teamConfigs(team.id)
    await active.use((instance) => instance.processEventBatch([{ event: 'e', properties: {} }]))
    const messages = (await logs(config.id)).map((r) => r.message).filter((m) => m.startsWith('key file') || m.startsWith('one line'))
    assert.equal(messages.length, 2, messages.join('\n'))
    for (const message of messages) assert.doesNotMatch(message, /MIIEvQIBADANBgkqhkiG9w0BAQEFAASC|BEGIN PRIVATE KEY/)
    assert.match(messages[0], /"client_email":"x@example\.iam\.gserviceaccount\.com"/, 'what is not secret stays')
  })

  it('keeps meta.global from setupPlugin for later calls, and runs teardownPlugin when the config is disabled', async () => {
    const config = await enablePlugin(
      management,
      team.id,
      writePlugin(
        'global-user',
        `
      export function setupPlugin({ global, config }) { global.greeting = 'hello ' + config.name }
      export function processEvent(e, { global }) { e.properties.greeting = global.greeting; return e }
      export async function teardownPlugin({ storage, global }) { await storage.set('torn down', global.greeting) }`,
        [{ key: 'name', type: 'string', default: 'world' }],
      ),
    )
    runtime = await fx.start()
    const [active] = await runtime.manager.teamConfigs(team.id)
    const [result] = await active.use((instance) => instance.processEventBatch([{ event: 'e', properties: {} }]))
    assert.deepEqual(result, { ok: true, event: { event: 'e', properties: { greeting: 'hello world' } } })
    await setConfigEnabled(management, config.id, false)
    await eventually(
      'teardown ran',
      async () => (await db.pool.query(`SELECT value FROM plugin_storage WHERE plugin_config_id = $1 AND key = 'torn down'`, [config.id])).rows[0]?.value,
      (v) => v === 'hello world',
      5_000,
    )
    assert.deepEqual(await runtime.manager.teamConfigs(team.id), [])
    const messages = (await logs(config.id)).map((r) => `${r.source} ${r.message}`)
    assert.ok(
      messages.some((m) => /^SYSTEM plugin loaded \(version 1; methods: setupPlugin, teardownPlugin, processEvent\)/.test(m)),
      messages.join('\n'),
    )
    assert.ok(messages.includes('SYSTEM plugin unloaded (explicit)'))
  })

  it('evicts and loads again a config to make room (LRU) at debug only, with no log rows, and warns once naming PLUGIN_MAX_LIVE_INSTANCES and SCHEDULER_SHARDS', async () => {
    await fx.close()
    fx = await pluginRuntimeFixture({ TIME_SCALE: String(TIME_SCALE), PLUGIN_RECONCILE_INTERVAL_MS: '100000', PLUGIN_MAX_LIVE_INSTANCES: '1' })
    ;({ db, team, management } = fx)
    const lines: { level: number; msg: string }[] = []
    fx.ctx.logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) })
    const code = `export function processEvent(e) { return e }`
    const a = await enablePlugin(management, team.id, writePlugin('crowded-a', code))
    const b = await enablePlugin(management, team.id, writePlugin('crowded-b', code))
    runtime = await fx.start()
    // One live instance for two configs: each use evicts the other.
    for (let round = 0; round < 3; round++) for (const id of [a.id, b.id]) await (await runtime.manager.config(id))!.use(async () => undefined)
    for (const id of [a.id, b.id]) {
      const messages = (await logs(id)).map((r) => `${r.source} ${r.message}`)
      assert.deepEqual(
        messages.filter((m) => m.startsWith('SYSTEM plugin')),
        ['SYSTEM plugin loaded (version 1; methods: processEvent)'],
        'the first load only',
      )
    }
    assert.equal(lines.filter((l) => l.msg.startsWith('plugin loaded') && l.msg.endsWith('again after an eviction (room or rss)') && l.level === 20).length, 4)
    const warnings = lines.filter((l) => l.level === 40 && l.msg.includes('evicted'))
    assert.equal(warnings.length, 1, 'warned once for five evictions')
    assert.match(warnings[0].msg, /PLUGIN_MAX_LIVE_INSTANCES \(1\).*SCHEDULER_SHARDS/)
    assert.ok(!lines.some((l) => l.level >= 30 && /plugin (loaded|unloaded)/.test(l.msg) && l.msg !== 'plugin loaded (version 1; methods: processEvent)'))
    // What the crowding alert and panel read: every eviction, not one line per five minutes.
    const metrics = await fx.ctx.registry.metrics()
    assert.match(metrics, /^plugin_instances_evicted_for_room_total(\{[^}]*\})? 5$/m)
    assert.match(metrics, /^plugin_max_live_instances(\{[^}]*\})? 1$/m)
  })

  it('over PLUGIN_RSS_LIMIT_MB keeps fewer configs live, unloading idle ones at debug only with no log rows, and loads them again on next use', async () => {
    await fx.close()
    // 1 MB: below any process's RSS, so the guard cuts down to its floor, a tenth of the 10.
    fx = await pluginRuntimeFixture({
      TIME_SCALE: String(TIME_SCALE),
      PLUGIN_RECONCILE_INTERVAL_MS: '100000',
      PLUGIN_MAX_LIVE_INSTANCES: '10',
      PLUGIN_RSS_LIMIT_MB: '1',
    })
    ;({ db, team, management } = fx)
    const lines: { level: number; msg: string }[] = []
    fx.ctx.logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) })
    const code = `export function processEvent(e) { return { ...e, properties: { ...e.properties, seen: true } } }`
    const configs = [await enablePlugin(management, team.id, writePlugin('rss-a', code)), await enablePlugin(management, team.id, writePlugin('rss-b', code))]
    runtime = await fx.start()
    for (const { id } of configs) await (await runtime.manager.config(id))!.use(async () => undefined)
    await eventually(
      'live configs capped at one',
      async () => (await fx.ctx.registry.metrics()).match(/^plugin_live_instances_cap(?:\{[^}]*\})? (\d+)$/m)?.[1],
      (cap) => cap === '1',
    )
    for (let round = 0; round < 2; round++)
      for (const { id } of configs) {
        const out = await (await runtime.manager.config(id))!.use((instance) => instance.call('processEvent', [{ event: 'e', properties: {} }]))
        assert.deepEqual(out, { event: 'e', properties: { seen: true } })
      }
    for (const { id } of configs) {
      const messages = (await logs(id)).map((r) => `${r.source} ${r.message}`)
      assert.deepEqual(
        messages.filter((m) => m.startsWith('SYSTEM plugin')),
        ['SYSTEM plugin loaded (version 1; methods: processEvent)'],
        'the first load only',
      )
    }
    assert.ok(lines.some((l) => l.level === 20 && l.msg.startsWith('plugin unloaded (rss)')))
    const warnings = lines.filter((l) => l.level === 40).map((l) => l.msg)
    assert.ok(
      warnings.some((m) => /^resident memory \d+ MB is over PLUGIN_RSS_LIMIT_MB \(1\): 1 idle plugin configs unloaded so far, and at most 1 kept live/.test(m)),
      warnings.join('\n'),
    )
    assert.ok(
      warnings.some((m) => /^resident memory \d+ MB is over PLUGIN_RSS_LIMIT_MB \(1\) with only [01] plugin configs live/.test(m)),
      warnings.join('\n'),
    )
    assert.ok(
      warnings.some((m) => /more plugin configs than the 1 it keeps live while over PLUGIN_RSS_LIMIT_MB \(PLUGIN_MAX_LIVE_INSTANCES 10\)/.test(m)),
      warnings.join('\n'),
    )
    const metrics = await fx.ctx.registry.metrics()
    assert.match(metrics, /^plugin_instances_unloaded_for_rss_total(\{[^}]*\})? 1$/m)
    assert.match(metrics, /^plugin_rss_limit_bytes(\{[^}]*\})? 1048576$/m)
  })

  it('does not put in use an instance whose config was disabled while its setupPlugin ran: it is torn down, and the disable keeps its own reason', async () => {
    const config = await enablePlugin(
      management,
      team.id,
      writePlugin(
        'slow-setup',
        `
      export async function setupPlugin({ cache }) {
        await cache.set('started', 'yes')
        while ((await cache.get('go', null)) === null) await new Promise((r) => setTimeout(r, 20))
      }
      export function processEvent(e) { return e }`,
      ),
    )
    runtime = await fx.start()
    const redis = ctx.newRedisConnection('check')
    const key = (name: string) => redisKeys(prefix).cache(config.plugin_id, team.id, name)
    const loading = runtime.manager.teamConfigs(team.id)
    await eventually(
      'setupPlugin started',
      () => redis.get(key('started')),
      (v) => v !== null,
      10_000,
    )
    await setConfigEnabled(management, config.id, false)
    await eventually(
      'the disable reached the manager',
      async () => runtime.manager.knows(config.id),
      (known) => !known,
      10_000,
    )
    await redis.set(key('go'), JSON.stringify(true))
    assert.deepEqual(await loading, [], 'the team runs without it')
    const messages = (await logs(config.id)).map((r) => `${r.source} ${r.type} ${r.message}`)
    assert.ok(messages.includes('SYSTEM INFO plugin unloaded (its config changed while it was set up)'), messages.join('\n'))
    assert.ok(!messages.some((m) => /plugin loaded|plugin disabled|ERROR/.test(m)), messages.join('\n'))
    const { rows } = await db.pool.query<{ enabled: boolean; disabled_reason: string | null }>(
      'SELECT enabled, disabled_reason FROM plugin_configs WHERE id = $1',
      [config.id],
    )
    assert.deepEqual(rows[0], { enabled: false, disabled_reason: null }, 'disabled by its user, with no reason made up by the server')
    assert.equal(runtime.manager.state(config.id), null)
  })

  describe('a config whose settings change while its setupPlugin runs', () => {
    // Each setupPlugin call waits for its own go-ahead, so the test can change the config under it.
    const setupThatWaits = () =>
      writePlugin(
        'slow-setup-tagger',
        `
      export async function setupPlugin({ cache, global, config }) {
        const n = await cache.incr('setups')
        while ((await cache.get('go' + n, null)) === null) await new Promise((r) => setTimeout(r, 20))
        global.tag = config.tag
      }
      export function processEvent(e, { global }) { e.properties.tag = global.tag; return e }`,
        [{ key: 'tag', type: 'string', default: 'v1' }],
      )

    const changeDuringSetup = async (configId: number, pluginId: number, setup: number) => {
      const redis = ctx.newRedisConnection('check')
      const key = (name: string) => redisKeys(prefix).cache(pluginId, team.id, name)
      await eventually(
        `setupPlugin call ${setup} started`,
        () => redis.get(key('setups')),
        (v) => v === String(setup),
        10_000,
      )
      await updateConfig(management, configId, { config: { tag: `v${setup + 1}` } })
      await runtime.manager.refresh()
      await redis.set(key(`go${setup}`), JSON.stringify(true))
    }

    it('is set up again with its new settings in the same call, so the events that loaded it do not go on without it', async () => {
      const config = await enablePlugin(management, team.id, setupThatWaits())
      runtime = await fx.start()
      const loading = runtime.manager.teamConfigs(team.id)
      await changeDuringSetup(config.id, config.plugin_id, 1)
      await ctx.newRedisConnection('check').set(redisKeys(prefix).cache(config.plugin_id, team.id, 'go2'), JSON.stringify(true))
      const [active] = await loading
      assert.equal(active?.record.config.tag, 'v2', 'the team runs the config, set up with its new settings')
      const [result] = await active.use((instance) => instance.processEventBatch([{ event: 'e', properties: {} }]))
      assert.deepEqual(result, { ok: true, event: { event: 'e', properties: { tag: 'v2' } } })
    })

    it('fails teamConfigs naming the config, so the events are retried, when its settings keep changing under every setup', async () => {
      const config = await enablePlugin(management, team.id, setupThatWaits())
      runtime = await fx.start()
      const outcome = runtime.manager.teamConfigs(team.id).then(
        () => null,
        (err: unknown) => err,
      )
      for (const setup of [1, 2, 3]) await changeDuringSetup(config.id, config.plugin_id, setup)
      const err = await outcome
      assert.ok(err instanceof PluginConfigUnavailableError, String(err))
      assert.equal(
        err.message,
        `team ${team.id}: plugin config could not be loaded, tried again with the batch: slow-setup-tagger (${config.id}): its config changed while it was set up, 3 times in a row`,
      )
      await ctx.newRedisConnection('check').set(redisKeys(prefix).cache(config.plugin_id, team.id, 'go4'), JSON.stringify(true))
      const [active] = await runtime.manager.teamConfigs(team.id)
      assert.equal(active?.record.config.tag, 'v4', 'the retry finds it set up with its last settings')
    })
  })

  describe('a re-read of the configs that fails while a reload message waits', () => {
    // The configs query joins teams, which nothing else here touches: locked, the query waits until the test ends its backend.
    const lockTeams = async () => {
      const locker = await db.pool.connect()
      await locker.query('BEGIN')
      await locker.query('LOCK TABLE teams IN ACCESS EXCLUSIVE MODE')
      return async () => {
        await locker.query('COMMIT')
        locker.release()
      }
    }
    const waitingRead = (seen: number[]) =>
      eventually(
        'a configs read waiting on the lock',
        async () =>
          (
            await db.pool.query<{ pid: number }>(
              `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM plugin_configs c JOIN plugins p%' AND pid <> ALL($1::int[])`,
              [seen],
            )
          ).rows[0]?.pid,
        (pid) => pid !== undefined,
        10_000,
      ) as Promise<number>
    const failRead = (pid: number) => db.pool.query('SELECT pg_terminate_backend($1)', [pid])
    const tagOf = (id: number) => runtime.manager.enabledConfigs().find((r) => r.id === id)?.config.tag
    const enableTagger = () =>
      enablePlugin(management, team.id, writePlugin('tagger', `export function processEvent(e) { return e }`, [{ key: 'tag', type: 'string' }]), { tag: 'v1' })

    it('reads them once more, so the change the message announced does not wait for the reconcile', async () => {
      const config = await enableTagger()
      runtime = await fx.start()
      // Changed with no reload published: only the refreshes below can read it.
      await db.pool.query(`UPDATE plugin_configs SET config = config || '{"tag": "v2"}', updated_at = now() WHERE id = $1`, [config.id])
      const unlock = await lockTeams()
      const refreshed = runtime.manager.refresh().then(
        () => null,
        (err: unknown) => err,
      )
      try {
        const read = await waitingRead([])
        void runtime.manager.refresh().catch(() => undefined) // what the reload message does
        await failRead(read)
      } finally {
        await unlock()
      }
      assert.equal(await refreshed, null)
      assert.equal(tagOf(config.id), 'v2')
      assert.equal(runtime.manager.lastRefreshError, null)
    })

    it('gives up when that read fails too, leaving the configs to the reconcile rather than reading a failing Postgres in a loop', async () => {
      const config = await enableTagger()
      runtime = await fx.start()
      const unlock = await lockTeams()
      try {
        const refreshed = runtime.manager.refresh().then(
          () => null,
          (err: unknown) => err,
        )
        const first = await waitingRead([])
        void runtime.manager.refresh().catch(() => undefined)
        await failRead(first)
        const second = await waitingRead([first])
        void runtime.manager.refresh().catch(() => undefined)
        await failRead(second)
        const err = await refreshed
        assert.match(String(err), /terminat/)
        assert.match(runtime.manager.lastRefreshError ?? '', /terminat/)
        const { rows } = await db.pool.query(
          `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM plugin_configs c JOIN plugins p%' AND pid <> ALL($1::int[])`,
          [[first, second]],
        )
        assert.deepEqual(rows, [], 'no third read')
      } finally {
        await unlock()
      }
      assert.equal(tagOf(config.id), 'v1')
    })
  })

  it('keeps the compiled code of the versions its configs run only: an upgraded plugin leaves no old version compiled', async () => {
    const dir = writePlugin('upgraded', `export function processEvent(e) { e.properties.v = 1; return e }`)
    await enablePlugin(management, team.id, dir)
    runtime = await fx.start()
    const compiled = () => (runtime.manager as unknown as { sources: Map<string, unknown> }).sources.size
    for (let version = 2; version <= 4; version++) {
      fs.writeFileSync(path.join(dir, 'index.ts'), `export function processEvent(e) { e.properties.v = ${version}; return e }`)
      await installPluginFromPath(management, dir)
      await runtime.manager.refresh()
      const [active] = await runtime.manager.teamConfigs(team.id)
      const [result] = await active.use((instance) => instance.processEventBatch([{ event: 'e', properties: {} }]))
      assert.deepEqual(result, { ok: true, event: { event: 'e', properties: { v: version } } })
    }
    await runtime.manager.refresh()
    assert.equal(compiled(), 1)
  })

  it('lets a batch in flight finish on the config it started with when a reload replaces it, and serves the next batch from the new one', async () => {
    const config = await enablePlugin(
      management,
      team.id,
      writePlugin(
        'slow-tagger',
        `
      export async function setupPlugin({ global, config }) { global.tag = config.tag }
      export async function processEvent(e, { global, cache }) {
        await cache.set('started', 'yes')
        while ((await cache.get('go')) !== 'yes') await new Promise((r) => setTimeout(r, 20))
        e.properties.tag = global.tag
        return e
      }
      export async function teardownPlugin({ storage, global }) { await storage.set('torn down', global.tag) }`,
        [{ key: 'tag', type: 'string', default: 'old' }],
      ),
    )
    runtime = await fx.start()
    const [active] = await runtime.manager.teamConfigs(team.id)
    const inFlight = active.use((instance) => instance.processEventBatch([{ event: 'e', properties: {} }]))
    const redis = ctx.newRedisConnection('check')
    const cacheKey = (key: string) => `${prefix}:cache:${config.plugin_id}:${team.id}:${key}`
    await eventually(
      'the batch started',
      () => redis.get(cacheKey('started')),
      (v) => v !== null,
      10_000,
    )
    await updateConfig(management, config.id, { config: { tag: 'new' } })
    const reloaded = runtime.manager.refresh()
    const [next] = await eventually(
      'the new config set up',
      () => runtime.manager.teamConfigs(team.id),
      (c) => c[0]?.record.config.tag === 'new',
      10_000,
    )
    await redis.set(cacheKey('go'), JSON.stringify('yes'))
    const [result] = await inFlight
    assert.deepEqual(result, { ok: true, event: { event: 'e', properties: { tag: 'old' } } }, 'the batch in flight was not failed by the reload')
    const [after] = await next.use((instance) => instance.processEventBatch([{ event: 'e', properties: {} }]))
    assert.deepEqual(after, { ok: true, event: { event: 'e', properties: { tag: 'new' } } })
    await reloaded
    const tornDown = await db.pool.query(`SELECT value FROM plugin_storage WHERE plugin_config_id = $1 AND key = 'torn down'`, [config.id])
    assert.equal(tornDown.rows[0]?.value, 'old', 'the old instance was torn down after its call, with its own state')
  })

  it('fails teamConfigs naming the config when Postgres cannot give its plugin files, rather than running the team without it, and serves it once Postgres can', async () => {
    const config = await enablePlugin(management, team.id, writePlugin('tagger', `export function processEvent(e) { e.properties.tagged = true; return e }`))
    runtime = await fx.start()
    // The plugin's files cannot be read: a server-side failure, not the plugin's.
    await db.pool.query('ALTER TABLE plugin_versions RENAME TO plugin_versions_away')
    try {
      await assert.rejects(runtime.manager.teamConfigs(team.id), (err: unknown) => {
        assert.ok(err instanceof PluginConfigUnavailableError, String(err))
        assert.match(
          err.message,
          new RegExp(`^team ${team.id}: plugin config could not be loaded, tried again with the batch: tagger \\(${config.id}\\): .*plugin_versions`),
        )
        return true
      })
      assert.equal(runtime.manager.state(config.id)?.status, 'pending', 'not marked as a plugin failure')
    } finally {
      await db.pool.query('ALTER TABLE plugin_versions_away RENAME TO plugin_versions')
    }
    const [active] = await runtime.manager.teamConfigs(team.id)
    assert.equal(active?.record.id, config.id)
    const [result] = await active.use((instance) => instance.processEventBatch([{ event: 'e', properties: {} }]))
    assert.deepEqual(result, { ok: true, event: { event: 'e', properties: { tagged: true } } })
  })
})
