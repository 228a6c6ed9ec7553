import assert from 'node:assert/strict'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createConfig, installPluginFromPath } from '@plugin-server/management'
import { TryResult } from '@plugin-server/try-it'
import { writePlugin } from '../harness/plugins'
import { runCli } from '../harness/processes'
import { cliEnv, createTeamRow, FIXTURES, ManagementHarness, SECRET, startManagement, WITH_ATTACHMENT } from './management-fixture'

describe('plugin-server plugin try (CLI)', function () {
  this.timeout(60_000)
  let h: ManagementHarness
  let env: Record<string, string>

  beforeEach(async () => {
    h = await startManagement()
    env = cliEnv(h, { LOG_FORMAT: 'json', LOG_LEVEL: 'info' })
  })

  afterEach(() => h.close())

  it('exits 0 when the only trouble is a POST the dry run did not send, shown as not sent; a plugin error still exits 1, with its stack', async () => {
    const teamId = await createTeamRow(h, 'not sent')
    const poster = writePlugin(
      'try-poster',
      [
        'export function processEvent(event) {',
        "  if (event.event === 'throw') throw new Error('boom in processEvent')",
        '  return event',
        '}',
        'export async function onEvent(event) {',
        "  await fetch('http://127.0.0.1:9/collect', { method: 'POST', body: JSON.stringify(event) })",
        '}',
      ].join('\n'),
    )
    const installed = await installPluginFromPath(h.ctx, poster)
    await createConfig(h.ctx, { teamId, plugin: installed.plugin.id, config: {}, enabled: true })

    const healthy = await runCli(['plugin', 'try', String(teamId), '--event', '-', '--chain'], env, JSON.stringify({ event: 'e' }))
    assert.equal(healthy.code, 0, healthy.stderr)
    const onEvent = (JSON.parse(healthy.stdout) as TryResult).steps.find((s) => s.method === 'onEvent')
    assert.equal(onEvent?.error, null)
    assert.match(String(onEvent?.not_sent), /^fetch: POST http:\/\/127\.0\.0\.1:9 was not sent: this is a dry run/)
    assert.equal(onEvent?.host_calls[0].error, undefined, 'the held-back request is no error either')
    assert.match(String(onEvent?.host_calls[0].not_sent), /was not sent/)
    assert.match(healthy.stderr, /plugin try: try-poster onEvent: not sent \(dry run\): fetch: POST /)

    const thrown = await runCli(['plugin', 'try', String(teamId), '--event', '-', '--chain'], env, JSON.stringify({ event: 'throw' }))
    assert.equal(thrown.code, 1)
    const failed = (JSON.parse(thrown.stdout) as TryResult).steps.find((s) => s.method === 'processEvent')
    assert.equal(failed?.error, 'Error: boom in processEvent')
    assert.match(String(failed?.stack), /^ {4}at processEvent \(plugin\/try-poster\/index\.ts:2:\d+\)/)
    assert.match(
      thrown.stderr,
      /plugin try: try-poster processEvent failed: Error: boom in processEvent\n {4}at processEvent \(plugin\/try-poster\/index\.ts:2:\d+\)/,
    )
  })

  it("refuses the stored config's connections to the fleet's Redis though the allowlist covers it, naming REDIS_URL, as the roles do", async () => {
    const teamId = await createTeamRow(h, 'redis reacher')
    const redisPort = Number(new URL(process.env.REDIS_URL!).port)
    const reacher = writePlugin(
      'try-redis-reacher',
      `export async function processEvent(event) {
         event.properties = { answer: await fetch('http://localhost:${redisPort}/').then((res) => 'answered ' + res.status) }
         return event
       }`,
    )
    const installed = await installPluginFromPath(h.ctx, reacher)
    await createConfig(h.ctx, { teamId, plugin: installed.plugin.id, config: {}, enabled: true })
    const run = await runCli(
      ['plugin', 'try', String(teamId), '--event', '-', '--chain'],
      { ...env, PLUGIN_FETCH_ALLOWED_HOSTS: '127.0.0.0/8,::1' },
      JSON.stringify({ event: 'e' }),
    )
    assert.equal(run.code, 1, run.stderr)
    const step = (JSON.parse(run.stdout) as TryResult).steps.find((s) => s.method === 'processEvent')
    assert.match(
      String(step?.error),
      new RegExp(`fetch refused: host "localhost" resolves only to refused addresses \\(.*port ${redisPort} is the fleet's own Redis \\(REDIS_URL\\)`),
    )
  })

  it('prints the TryResult of a config, a plugin or the chain; a failed step fails the command; the secret never shows', async () => {
    const teamId = await createTeamRow(h, 'cli')
    const installed = await installPluginFromPath(h.ctx, path.join(FIXTURES, 'try-enricher'))
    const config = await createConfig(h.ctx, { teamId, plugin: installed.plugin.id, config: { apiKey: SECRET }, enabled: true })

    const byConfig = await runCli(['plugin', 'try', String(teamId), '--event', '-', '--config-id', String(config.id)], env, JSON.stringify({ event: 'signup' }))
    assert.equal(byConfig.code, 0, byConfig.stderr)
    const result = JSON.parse(byConfig.stdout) as TryResult
    assert.equal((result.output?.properties as Record<string, unknown>).greeting, 'hello')
    assert.ok(result.steps.some((s) => s.method === 'processEvent' && s.logs[0]?.message === 'processing with key [secret]'))

    const thrown = await runCli(['plugin', 'try', String(teamId), '--event', '-', '--chain'], env, JSON.stringify({ event: 'throw' }))
    assert.equal(thrown.code, 1)
    assert.equal((JSON.parse(thrown.stdout) as TryResult).steps.find((s) => s.method === 'processEvent')?.error, 'Error: the API rejected key [secret]')

    const unconfigured = await runCli(
      ['plugin', 'try', String(teamId), '--event', '-', '--plugin', 'try-enricher', '--set', 'greeting=hey'],
      env,
      '{"event":"e"}',
    )
    assert.equal(unconfigured.code, 1)
    assert.match(unconfigured.stderr, /plugin-server: plugin "try-enricher": config field "apiKey" is required/)

    const ambiguous = await runCli(['plugin', 'try', String(teamId), '--event', '-', '--chain', '--config-id', String(config.id)], env, '{"event":"e"}')
    assert.equal(ambiguous.code, 1)
    assert.match(ambiguous.stderr, /give exactly one of --config-id <configId>, --plugin <id\|name> or --chain/)

    // --attachment reads files as `config create` does; the plugin gets them as meta.attachments.
    await installPluginFromPath(h.ctx, WITH_ATTACHMENT)
    const rules = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'ps-try-cli-')), 'rules.json')
    await fs.writeFile(rules, '{"a":1,"b":2}')
    const withFile = await runCli(
      ['plugin', 'try', String(teamId), '--event', '-', '--plugin', 'management-attachment', '--attachment', `rules=${rules}`],
      env,
      '{"event":"e"}',
    )
    assert.equal(withFile.code, 0, withFile.stderr)
    assert.equal(((JSON.parse(withFile.stdout) as TryResult).output?.properties as Record<string, unknown>).rule_count, 2)
    const withoutFile = await runCli(['plugin', 'try', String(teamId), '--event', '-', '--plugin', 'management-attachment'], env, '{"event":"e"}')
    assert.equal(withoutFile.code, 1)
    assert.match(withoutFile.stderr, /config field "rules" is required: upload an attachment for it/)
    const fileForConfig = await runCli(
      ['plugin', 'try', String(teamId), '--event', '-', '--config-id', String(config.id), '--attachment', `rules=${rules}`],
      env,
      '{"event":"e"}',
    )
    assert.equal(fileForConfig.code, 1)
    assert.match(fileForConfig.stderr, /--set and --attachment only go with --plugin/)

    for (const run of [byConfig, thrown, unconfigured, ambiguous]) assert.ok(!run.stdout.includes(SECRET) && !run.stderr.includes(SECRET))
  })
})
