import assert from 'node:assert/strict'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { CliResult, runCli, startCli } from '../harness/processes'
import { BASIC, cliEnv, createTeamRow, insertLog, ManagementHarness, SECRET, startManagement, storedConfigValue } from './management-fixture'

describe('plugin-server plugin install|list|logs and config create|update|enable (CLI)', () => {
  let h: ManagementHarness
  let env: Record<string, string>
  const outputs: CliResult[] = []

  async function cli(...args: string[]): Promise<CliResult> {
    const result = await runCli(args, env)
    outputs.push(result)
    return result
  }

  async function ok(...args: string[]): Promise<Record<string, unknown>> {
    const result = await cli(...args)
    assert.equal(result.code, 0, `plugin-server ${args.join(' ')} failed: ${result.stderr}`)
    return JSON.parse(result.stdout) as Record<string, unknown>
  }

  before(async () => {
    h = await startManagement()
    env = cliEnv(h, { LOG_FORMAT: 'json', LOG_LEVEL: 'debug' })
  })

  after(async () => {
    for (const { stdout, stderr } of outputs) {
      assert.ok(!stdout.includes(SECRET) && !stderr.includes(SECRET), 'no CLI output or log line holds the secret value')
    }
    await h.close()
  })

  it('installs, configures with a secret and an attachment, updates and enables, never printing the secret', async () => {
    const installed = await ok('plugin', 'install', BASIC)
    assert.equal(installed.status, 'installed')
    const again = await cli('plugin', 'install', BASIC)
    assert.equal(again.code, 0)
    assert.equal(JSON.parse(again.stdout).status, 'unchanged')
    assert.match(again.stderr, /plugin-server: plugin "management-basic" version 1 has identical source; nothing to do/)
    const listed = JSON.parse((await cli('plugin', 'list')).stdout) as { name: string }[]
    assert.deepEqual(
      listed.map((p) => p.name),
      ['management-basic'],
    )

    const teamId = await createTeamRow(h)
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ps-cli-'))
    await fs.writeFile(path.join(dir, 'mapping.json'), '{"a":"b"}')
    const created = await ok(
      'config',
      'create',
      '--team',
      String(teamId),
      '--plugin',
      'management-basic',
      '--config',
      `apiKey=${SECRET}`,
      '--config',
      'label=x=y',
      '--attachment',
      `mapping=${path.join(dir, 'mapping.json')}`,
      '--order',
      '3',
    )
    assert.deepEqual(created.config, { greeting: 'hello', mode: 'safe', label: 'x=y' })
    assert.deepEqual(created.secret_fields, { apiKey: 'set', region: 'not set' })
    assert.deepEqual(created.attachments, [{ key: 'mapping', file_name: 'mapping.json', content_type: 'application/json', size: 9 }])
    assert.equal(created.order, 3)
    const id = String(created.id)
    await h.reloads.next((m) => m.reason === 'config created' && m.pluginConfigId === created.id)

    const updated = await ok('config', 'update', id, '--config', 'mode=fast', '--config', 'label=L2')
    assert.deepEqual(updated.config, { greeting: 'hello', mode: 'fast', label: 'L2' })
    assert.equal((updated.secret_fields as Record<string, string>).apiKey, 'set')
    assert.equal(await storedConfigValue(h, Number(created.id), 'apiKey'), SECRET, 'a secret not given keeps its value')

    const emptied = await ok('config', 'update', id, '--config', 'greeting=')
    assert.deepEqual(emptied.config, { greeting: '', mode: 'fast', label: 'L2' }, 'key= empties an optional text field: its default is not filled back in')
    const defaulted = await ok('config', 'update', id, '--default', 'greeting')
    assert.deepEqual(defaulted.config, { greeting: 'hello', mode: 'fast', label: 'L2' }, '--default brings it back')

    const refused = await cli('config', 'update', id, '--config', `region=${SECRET}`)
    assert.equal(refused.code, 1)
    assert.equal(refused.stderr.trim().split('\n').pop(), 'plugin-server: plugin "management-basic": config field "region" must be one of "eu", "us"')
    const duplicate = await cli(
      'config',
      'create',
      '--team',
      String(teamId),
      '--plugin',
      'management-basic',
      '--config',
      `apiKey=${SECRET}`,
      '--config',
      'label=L',
    )
    assert.equal(duplicate.code, 1)
    assert.match(duplicate.stderr, /plugin-server: team \d+ already has a config for plugin "management-basic" \(config \d+\); update that one/)
    const malformed = await cli('config', 'update', id, '--config', SECRET)
    assert.equal(malformed.code, 1)
    assert.match(malformed.stderr, /--config expects key=value/)

    assert.equal((await ok('config', 'enable', id)).enabled, true)
    await h.reloads.next((m) => m.reason === 'config enabled' && m.pluginConfigId === created.id)
    const list = (await ok('config', 'list', '--team', String(teamId))) as unknown as { id: number }[]
    assert.deepEqual(
      list.map((c) => c.id),
      [created.id],
    )
    assert.deepEqual(await ok('config', 'delete', id), { id: created.id, deleted: true })
    assert.equal((await cli('config', 'get', id)).stderr.trim(), `plugin-server: plugin config ${id} not found`)
  })

  it('prints log rows as JSON lines, filters them, and follows new rows', async () => {
    await ok('plugin', 'install', BASIC)
    const teamId = await createTeamRow(h, 'logs')
    const created = await ok(
      'config',
      'create',
      '--team',
      String(teamId),
      '--plugin',
      'management-basic',
      '--config',
      `apiKey=${SECRET}`,
      '--config',
      'label=L',
    )
    const id = Number(created.id)
    await insertLog(h, id, 'INFO', 'SYSTEM', 'first row')
    await insertLog(h, id, 'ERROR', 'PLUGIN', 'second row')
    const all = await cli('plugin', 'logs', String(id))
    assert.deepEqual(
      all.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).message),
      ['first row', 'second row'],
    )
    const errors = await cli('plugin', 'logs', String(id), '--level', 'error')
    assert.deepEqual(
      errors.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).message),
      ['second row'],
    )

    const follower = startCli(['plugin', 'logs', String(id), '--follow', '--interval', '100'], env)
    await follower.waitForLog((l) => l.message === 'second row', 10_000)
    await insertLog(h, id, 'WARN', 'CONSOLE', 'third row')
    const third = await follower.waitForLog((l) => l.message === 'third row', 2000)
    assert.equal(third.type, 'WARN')
    assert.equal(await follower.kill('SIGINT'), 0, 'Ctrl-C ends --follow cleanly')
  })
})
