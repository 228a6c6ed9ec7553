import assert from 'node:assert/strict'
import type { ConfigStatusView } from '@plugin-server/admin-api'
import { createConfig, installPluginFromPath, PluginConfigView } from '@plugin-server/management'
import { AdminFleet, startAdminFleet } from '../admin-api/admin-fleet'
import { eventually } from '../harness/fleet'
import { FleetProcess, runCli } from '../harness/processes'
import { enablePlugin, writePlugin } from '../harness/plugins'
import { storeUncompiledPlugin } from '../harness/stored-plugin'

const LEFT_PAD_USER = `import leftPad from 'left-pad'
export function processEvent(e) { e.properties.padded = leftPad('7', 3, '0'); return e }`
const SYNTAX_ERROR = `export function processEvent(e) {\n  e.properties.broken = true\n  return e +\n}`
const TAGGER = `export function processEvent(e) { e.properties.healthy = true; return e }`

/** The properties the test and its plugins set (not the server's `$plugins_*`). */
function mine(props: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(props).filter(([key]) => !key.startsWith('$')))
}

interface StoredError {
  message: string
  name: string
  reason: string
  plugin_version: number
}

describe('a plugin that fails to load, in a running fleet', function () {
  this.timeout(120_000)
  let f: AdminFleet
  let worker: FleetProcess
  let env: Record<string, string>
  let teamB: { id: number; token: string }
  const configs = { leftPad: 0, syntax: 0, healthyA: 0, healthyB: 0 }

  before(async () => {
    f = await startAdminFleet(['capture'])
    env = { DATABASE_URL: f.fleet.db.url, REDIS_URL: process.env.REDIS_URL!, QUEUE_PREFIX: f.fleet.env.QUEUE_PREFIX }
    const { pool } = f.fleet.db
    teamB = {
      id: f.other.teamId,
      token: (await pool.query<{ api_token: string }>('SELECT api_token FROM teams WHERE id = $1', [f.other.teamId])).rows[0].api_token,
    }
    // Stored as a plugin from before the compiler refused them would be: `plugin install` rejects both today.
    const leftPad = await storeUncompiledPlugin(pool, { 'plugin.json': JSON.stringify({ name: 'left-pad-user' }), 'index.ts': LEFT_PAD_USER })
    const syntax = await storeUncompiledPlugin(pool, { 'plugin.json': JSON.stringify({ name: 'syntax-error' }), 'index.ts': SYNTAX_ERROR })
    configs.leftPad = (await createConfig(f.management, { teamId: f.fleet.team.id, plugin: leftPad.id, enabled: true, order: 1 })).id
    configs.syntax = (await createConfig(f.management, { teamId: teamB.id, plugin: syntax.id, enabled: true, order: 1 })).id
    const healthy = writePlugin('healthy-tagger', TAGGER)
    configs.healthyA = (await enablePlugin(f.management, f.fleet.team.id, healthy, {}, { order: 2 })).id
    configs.healthyB = (await enablePlugin(f.management, teamB.id, healthy, {}, { order: 2 })).id
    worker = await f.fleet.start('ingest-worker')
  })
  after(() => f?.close())

  /** One capture request (one ingest batch) of `n` events for a team. */
  const send = async (apiKey: string, tag: string, n: number) => {
    const batch = Array.from({ length: n }, (_, i) => ({ event: 'e', distinct_id: `u${i}`, properties: { sent_as: tag } }))
    const res = await fetch(`${f.fleet.captureUrl}/batch`, { method: 'POST', body: JSON.stringify({ api_key: apiKey, batch }) })
    assert.equal(res.status, 200, await res.text())
  }
  const stored = async (tag: string) =>
    (
      await f.fleet.db.pool.query<{ team_id: number; props: Record<string, unknown> }>(
        `SELECT team_id, properties AS props FROM events WHERE properties->>'sent_as' = $1`,
        [tag],
      )
    ).rows
  const loadFailureLines = async (configId: number) =>
    (
      await f.fleet.db.pool.query<{ message: string }>(
        `SELECT message FROM plugin_log_entries WHERE plugin_config_id = $1 AND source = 'SYSTEM' AND type = 'ERROR' AND message LIKE 'plugin failed to load%' ORDER BY id`,
        [configId],
      )
    ).rows.map((r) => r.message)
  const configGet = async (id: number) => {
    const result = await runCli(['config', 'get', String(id)], env)
    assert.equal(result.code, 0, result.stderr)
    return JSON.parse(result.stdout) as PluginConfigView & { error: StoredError | null }
  }
  const loadFailures = async () => {
    const text = await worker.metrics()
    return Object.fromEntries([...text.matchAll(/^plugin_load_failures_total\{reason="(\w+)"[^}]*\} (\d+)$/gm)].map(([, reason, n]) => [reason, Number(n)]))
  }

  it("keeps both teams' events flowing through their healthy configs, and says why the broken ones are left out, once", async () => {
    const started = Date.now()
    const BATCHES = 30
    for (let i = 0; i < BATCHES; i++) {
      await send(f.fleet.team.api_token, 'flowing', 5)
      await send(teamB.token, 'flowing', 5)
    }
    const events = await eventually(
      'all events stored',
      () => stored('flowing'),
      (rows) => rows.length === BATCHES * 10,
    )
    const elapsed = Date.now() - started
    for (const { team_id, props } of events) assert.deepEqual(mine(props), { sent_as: 'flowing', healthy: true }, `team ${team_id}`)

    // Loading was tried on the setup backoff (5 s, 10 s, …), not once per batch.
    const failures = await loadFailures()
    const bound = 1 + Math.floor(elapsed / 5_000)
    assert.ok(
      failures.missing_module >= 1 && failures.missing_module <= bound,
      `${failures.missing_module} load attempts in ${elapsed} ms of ${BATCHES} batches`,
    )
    assert.ok(failures.compile_error >= 1 && failures.compile_error <= bound, `${failures.compile_error} load attempts in ${elapsed} ms of ${BATCHES} batches`)

    const leftPadReason = 'plugin left-pad-user failed to compile: index.ts:1: module "left-pad" is not available to plugins'
    const pinoLine = await worker.waitForLog((l) => l.msg === 'plugin failed to load' && l.plugin_config_id === configs.leftPad)
    assert.deepEqual([pinoLine.team_id, pinoLine.reason, pinoLine.plugin_version, pinoLine.err], [f.fleet.team.id, 'missing_module', 1, leftPadReason])
    await eventually(
      'reasons in the configs logs',
      async () => [...(await loadFailureLines(configs.leftPad)), ...(await loadFailureLines(configs.syntax))],
      (lines) => lines.length >= 2,
    )
    assert.deepEqual(await loadFailureLines(configs.leftPad), [
      `plugin failed to load (version 1, missing_module): ${leftPadReason}; the team's events go on without it, and loading is tried again with backoff and as soon as a new version is installed`,
    ])
    const syntaxLines = await loadFailureLines(configs.syntax)
    assert.equal(syntaxLines.length, 1, syntaxLines.join('\n'))
    assert.match(syntaxLines[0], /^plugin failed to load \(version 1, compile_error\): plugin syntax-error failed to compile: index\.ts:4: Unexpected "}"/)

    // The CLI's `config get` and the admin API show the error on the config; the status says the load failed.
    const leftPadView = await configGet(configs.leftPad)
    assert.equal(leftPadView.enabled, true)
    assert.deepEqual(
      { name: leftPadView.error?.name, reason: leftPadView.error?.reason, version: leftPadView.error?.plugin_version, message: leftPadView.error?.message },
      { name: 'PluginLoadError', reason: 'missing_module', version: 1, message: leftPadReason },
    )
    assert.equal((await configGet(configs.syntax)).error?.reason, 'compile_error')
    assert.equal((await configGet(configs.healthyA)).error, null)
    const status = await f.ok<ConfigStatusView>('GET', `/api/configs/${configs.leftPad}/status`)
    assert.equal(status.setup.status, 'failed')
    assert.equal(status.setup.last_error, leftPadReason)
    assert.ok(status.setup.next_attempt_at !== null, JSON.stringify(status.setup))
    // The newer of the config's error and its last ERROR log line: both give the reason.
    assert.ok(status.last_error?.message.includes(leftPadReason), JSON.stringify(status.last_error))
    const asTeam = await f.ok<PluginConfigView & { error: StoredError }>('GET', `/api/configs/${configs.leftPad}`, undefined, 200, f.teamToken)
    assert.equal(asTeam.error.message, leftPadReason, "the team's own token sees why its plugin is not running")
  })

  it('loads a fixed version as soon as it is installed, and clears the error', async () => {
    await installPluginFromPath(f.management, writePlugin('left-pad-user', `export function processEvent(e) { e.properties.padded = '007'; return e }`))
    const installedAt = Date.now()
    // Well inside the backoff the broken version would still be waiting for.
    const rows = await eventually(
      'events go through the fixed version',
      async () => {
        await send(f.fleet.team.api_token, 'fixed', 1)
        return stored('fixed')
      },
      (r) => r.some((e) => e.props.padded === '007'),
      4_000,
    )
    assert.ok(Date.now() - installedAt < 4_000)
    assert.deepEqual(mine(rows.find((e) => e.props.padded === '007')!.props), { sent_as: 'fixed', padded: '007', healthy: true })
    await eventually(
      'error cleared',
      async () => (await configGet(configs.leftPad)).error,
      (error) => error === null,
      5_000,
    )
    const status = await f.ok<ConfigStatusView>('GET', `/api/configs/${configs.leftPad}/status`)
    assert.equal(status.setup.status, 'ready')
    assert.equal((await configGet(configs.syntax)).error?.reason, 'compile_error', "another team's broken config keeps its error")
  })
})
