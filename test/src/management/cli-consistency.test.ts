import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { installPluginFromPath, updateConfig } from '@plugin-server/management'
import type { Command } from 'commander'
import { nameConnectionVariable } from '../../../apps/cli/dist/connection-errors'
import { logLine } from '../../../apps/cli/dist/commands/plugin'
import { formatHuman } from '../../../apps/cli/dist/output'
import { buildProgram } from '../../../apps/cli/dist/program'
import { CLI, REPO_ROOT, runCli } from '../harness/processes'
import { TEST_SECURITY_ENV } from '../harness/security-env'
import { BASIC, cliEnv, createTeamRow, ManagementHarness, startManagement, WITH_ATTACHMENT } from './management-fixture'

/** The required fields of the management-basic fixture. */
const BASIC_VALUES = ['--config', 'apiKey=sk_test_consistency_1', '--config', 'label=L']

interface ConfigView {
  id: number
  order: number
  enabled: boolean
  plugin_name: string
}

/** Every command of the CLI with its full name, walked from the program main runs. */
function allCommands(command: Command = buildProgram(), prefix: string[] = []): { name: string; command: Command }[] {
  return command.commands.flatMap((sub) => {
    const name = [...prefix, sub.name()]
    return [{ name: name.join(' '), command: sub }, ...allCommands(sub, name)]
  })
}

describe('plugin-server CLI consistency', function () {
  this.timeout(120_000)
  let h: ManagementHarness
  let env: Record<string, string>

  before(async () => {
    h = await startManagement()
    env = cliEnv(h, TEST_SECURITY_ENV)
  })
  after(async () => h.close())

  it('--version prints the version of the package the CLI ships in', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
    for (const flag of ['--version', '-V']) {
      const result = await runCli([flag])
      assert.equal(result.code, 0)
      assert.equal(result.stdout.trim(), version)
    }
  })

  it('no help text states a default twice, and every command offers --json', () => {
    const commands = allCommands()
    assert.ok(commands.length > 20, `found the commands: ${commands.map((c) => c.name).join(', ')}`)
    for (const { name, command } of commands) {
      const help = command.helpInformation()
      assert.doesNotMatch(help, /\(default [^)]*\)\s*\(default: /, `plugin-server ${name} --help`)
      if (command.commands.length === 0) assert.match(help, /--json/, `plugin-server ${name} --help lists --json`)
    }
  })

  it('output is JSON for scripts (--json, or stdout not a terminal) and aligned text for people', async () => {
    await createTeamRow(h, 'json team')
    const piped = await runCli(['team', 'list'], env)
    assert.equal(piped.code, 0, piped.stderr)
    const asked = await runCli(['team', 'list', '--json'], env)
    assert.deepEqual(JSON.parse(asked.stdout), JSON.parse(piped.stdout))
    assert.equal(
      formatHuman([
        { id: 1, name: 'a', enabled: true },
        { id: 22, name: 'bb', enabled: false },
      ]),
      'id  name  enabled\n1   a     true\n22  bb    false',
    )
    assert.equal(formatHuman({ id: 3, plugin_name: 'x', error: null }), 'id           3\nplugin_name  x\nerror        -')
  })

  it('a reader that leaves before the output is written (`team list | head`) ends the command quietly with exit 0, not a fatal EPIPE', async () => {
    await createTeamRow(h, 'piped team')
    const child = spawn(process.execPath, ['--no-node-snapshot', CLI, 'team', 'list'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    // Closed before the CLI has read the teams: its write to stdout is the one that fails.
    child.stdout.destroy()
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    assert.equal(code, 0, stderr)
    assert.doesNotMatch(stderr, /EPIPE|uncaught/)
  })

  it('human output shows control characters written by plugins escaped, never sent to the terminal', () => {
    const hostile = 'evil\u001b]0;owned\u0007\u001b[2J\r\u009b31m'
    const escaped = 'evil\\x1b]0;owned\\x07\\x1b[2J\\x0d\\x9b31m'
    assert.equal(formatHuman({ description: hostile }), `description  ${escaped}`)
    assert.equal(formatHuman([{ name: hostile }]), `name\n${escaped}`)
    assert.doesNotMatch(
      formatHuman({ plugin_json: { description: hostile } }),
      /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/,
      'nor inside JSON, which leaves C1 as it is',
    )
    assert.equal(
      logLine({ timestamp: '2024-01-01T00:00:00.000Z', type: 'LOG', source: 'CONSOLE', message: `${hostile}\n\tnext line` }),
      `2024-01-01T00:00:00.000Z  LOG    CONSOLE  ${escaped}\n\tnext line`,
    )
  })

  it('--config means key=value everywhere; plugin try takes --config-id, and its old --config <id> still works with a notice', async () => {
    const teamId = await createTeamRow(h, 'try team')
    await installPluginFromPath(h.ctx, BASIC)
    const created = await runCli(['config', 'create', '--team', String(teamId), '--plugin', 'management-basic', ...BASIC_VALUES], env)
    assert.equal(created.code, 0, created.stderr)
    const config = JSON.parse(created.stdout) as ConfigView
    const event = JSON.stringify({ event: 'signup', distinct_id: 'u1', properties: {} })
    const byId = await runCli(['plugin', 'try', String(teamId), '--event', '-', '--config-id', String(config.id)], env, event)
    assert.equal(byId.code, 0, byId.stderr)
    assert.doesNotMatch(byId.stderr, /deprecated/)
    const old = await runCli(['plugin', 'try', String(teamId), '--event', '-', '--config', String(config.id)], env, event)
    assert.equal(old.code, 0, old.stderr)
    assert.deepEqual(JSON.parse(old.stdout).steps.length, JSON.parse(byId.stdout).steps.length)
    assert.match(old.stderr, /--config <configId> is deprecated, use --config-id/)
    const mistaken = await runCli(['plugin', 'try', String(teamId), '--event', '-', '--config', 'apiKey=sk_do_not_echo_me'], env, event)
    assert.equal(mistaken.code, 1)
    assert.match(mistaken.stderr, /--config is the old name of --config-id <configId>; config values for --plugin go in --set key=value/)
    assert.doesNotMatch(mistaken.stderr, /sk_do_not_echo_me/, 'the value given is not echoed')
  })

  it('a mistyped --option=value is named without its value, which may be a secret', async () => {
    for (const args of [
      ['config', 'create', '--team', '1', '--plugin', 'x', '--confg=apiKey=sk_do_not_echo_me'],
      ['plugin', 'try', '1', '--event', '-', '--sett=apiKey=sk_do_not_echo_me'],
      ['plugin', 'try', '1', '--event', '-', "--sett=apiKey=ab'sk_do_not_echo_me"],
      ['plugin', 'try', '1', '--event', '-', "--sett=key=-----BEGIN\nsk_do_not_echo_me\n-----END'"],
    ]) {
      const result = await runCli(args, env)
      assert.equal(result.code, 1)
      assert.match(result.stderr, /error: unknown option '--(confg|sett)=…'/)
      assert.doesNotMatch(result.stderr, /sk_do_not_echo_me/)
    }
  })

  it('config create starts disabled unless --enable, as the admin API and the UI form do', async () => {
    const teamId = await createTeamRow(h, 'defaults team')
    await installPluginFromPath(h.ctx, BASIC)
    const created = await runCli(['config', 'create', '--team', String(teamId), '--plugin', 'management-basic', ...BASIC_VALUES], env)
    assert.equal((JSON.parse(created.stdout) as ConfigView).enabled, false)
    // The UI form's box starting unchecked is checked in admin-ui/config-form.test.ts.
  })

  it('an order that is taken moves the configs from there on down instead of leaving two at one position (create and update)', async () => {
    const teamId = await createTeamRow(h, 'order team')
    await installPluginFromPath(h.ctx, BASIC)
    await installPluginFromPath(h.ctx, WITH_ATTACHMENT)
    const first = await runCli(['config', 'create', '--team', String(teamId), '--plugin', 'management-basic', ...BASIC_VALUES, '--order', '0'], env)
    assert.equal(first.code, 0, first.stderr)
    const second = await runCli(
      ['config', 'create', '--team', String(teamId), '--plugin', 'management-attachment', '--order', '0', '--attachment', `rules=${__filename}`],
      env,
    )
    assert.equal(second.code, 0, second.stderr)
    const orders = async () => {
      const listed = await runCli(['config', 'list', '--team', String(teamId)], env)
      return (JSON.parse(listed.stdout) as ConfigView[]).map((c) => [c.plugin_name, c.order])
    }
    assert.deepEqual(await orders(), [
      ['management-attachment', 0],
      ['management-basic', 1],
    ])
    // The API's update goes through the same function: moving the first to 1 moves the other down.
    const attachmentConfig = (JSON.parse(second.stdout) as ConfigView).id
    await updateConfig(h.ctx, attachmentConfig, { order: 1 })
    assert.deepEqual(await orders(), [
      ['management-attachment', 1],
      ['management-basic', 2],
    ])
  })

  it('an unreachable database or Redis is named by the variable that points at it', async () => {
    const database = await runCli(['config', 'list', '--team', '1'], { ...env, DATABASE_URL: 'postgres://postgres:hunter2@127.0.0.1:1/none' })
    assert.equal(database.code, 1)
    assert.match(database.stderr, /cannot reach Postgres at 127\.0\.0\.1:1 \(set by DATABASE_URL\): connect ECONNREFUSED/)
    assert.doesNotMatch(database.stderr, /hunter2/, 'the password in the URL is not shown')
    // ioredis gives up on a command without saying where it tried; the CLI names the variable.
    const redisGaveUp = nameConnectionVariable(new Error('Reached the max retries per request limit (which is 1).'), {
      databaseUrl: env.DATABASE_URL,
      redisUrl: 'redis://:secret@127.0.0.1:6390',
    })
    assert.match((redisGaveUp as Error).message, /cannot reach Redis at 127\.0\.0\.1:6390 \(set by REDIS_URL\)/)
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED', port: 6390 })
    assert.match((nameConnectionVariable(refused, { databaseUrl: env.DATABASE_URL, redisUrl: 'redis://127.0.0.1:6390' }) as Error).message, /REDIS_URL/)
  })

  it('queue failed, queue retry-failed, export status and export historical fail at once naming REDIS_URL when Redis is away, instead of waiting for it for good', async () => {
    const away = { ...env, REDIS_URL: 'redis://:hunter2@127.0.0.1:1' }
    for (const args of [
      ['queue', 'failed', 'ingest'],
      ['queue', 'retry-failed', 'ingest'],
      ['export', 'status', '1'],
      ['export', 'historical', 'status', '1'],
    ]) {
      const started = Date.now()
      const out = await runCli(args, away)
      assert.equal(out.code, 1, `${args.join(' ')}: ${out.stderr}`)
      assert.match(out.stderr, /cannot reach Redis at 127\.0\.0\.1:1 \(set by REDIS_URL\)/, args.join(' '))
      assert.doesNotMatch(out.stderr, /hunter2/)
      assert.ok(Date.now() - started < 20_000, `${args.join(' ')} answered in ${Date.now() - started} ms`)
    }
    const database = await runCli(['export', 'status', '1'], { ...env, DATABASE_URL: 'postgres://postgres:hunter2@127.0.0.1:1/none' })
    assert.match(database.stderr, /cannot reach Postgres at 127\.0\.0\.1:1 \(set by DATABASE_URL\)/)
  })

  it('secrets generate-key refuses a key id PLUGIN_SECRETS_KEYS would refuse, and demo a count that is not a number, naming the option', async () => {
    for (const id of ['a:b', 'a,b', 'a b', '', 'x'.repeat(33)]) {
      const out = await runCli(['secrets', 'generate-key', '--id', id], env)
      assert.equal(out.code, 1, JSON.stringify(id))
      assert.match(out.stderr, /--id must be 1 to 32 letters, digits, '_', '\.' or '-'/)
      assert.equal(out.stdout, '')
    }
    const made = await runCli(['secrets', 'generate-key', '--id', 'k2026.12'], env)
    assert.match(made.stdout, /^k2026\.12:[A-Za-z0-9+/]{43}=\n$/)
    for (const [option, value] of [
      ['--events', 'abc'],
      ['--duration', '-1'],
      ['--ingest-workers', '0'],
    ]) {
      const out = await runCli(['demo', option, value], env)
      assert.notEqual(out.code, 0)
      assert.match(out.stderr, new RegExp(`${option} must be`), `${option} ${value}: ${out.stderr}`)
    }
  })

  it('an unreachable server at the default address is said to be the default, not set by the unset variable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', port: 5432 })
    const urls = { databaseUrl: 'postgres://postgres@127.0.0.1:5432/plugin_server', redisUrl: 'redis://127.0.0.1:6379' }
    const unset = nameConnectionVariable(refused, urls, {}) as Error
    assert.match(unset.message, /^cannot reach Postgres at 127\.0\.0\.1:5432 \(the default: DATABASE_URL is not set\): connect ECONNREFUSED/)
    const empty = nameConnectionVariable(refused, urls, { DATABASE_URL: '' }) as Error
    assert.match(empty.message, /\(the default: DATABASE_URL is not set\)/)
  })
})
