import assert from 'node:assert/strict'
import { CliResult, runCli } from '../harness/processes'
import { writePlugin } from '../harness/plugins'
import { cliEnv, createTeamRow, ManagementHarness, startManagement } from './management-fixture'

function versionDir(version: number): string {
  return writePlugin('cli-versioned', `export function processEvent(e) { e.properties.version = ${version}; return e }`)
}

describe('plugin-server plugin rollback|delete and config --pin-version|--unpin (CLI)', function () {
  // Eleven CLI processes, each starting node and connecting.
  this.timeout(240_000)
  let h: ManagementHarness
  let env: Record<string, string>

  before(async () => {
    h = await startManagement()
    env = cliEnv(h, { LOG_FORMAT: 'json', LOG_LEVEL: 'warn' })
  })
  after(async () => h.close())

  const cli = (...args: string[]): Promise<CliResult> => runCli(['--json', ...args], env)
  async function ok<T = Record<string, unknown>>(...args: string[]): Promise<T> {
    const result = await cli(...args)
    assert.equal(result.code, 0, `plugin-server ${args.join(' ')} failed: ${result.stderr}`)
    return JSON.parse(result.stdout) as T
  }

  it('pins a config, rolls the plugin back, unpins, and deletes only when forced, naming the configs', async () => {
    const teamId = await createTeamRow(h)
    await ok('plugin', 'install', versionDir(1))
    const created = await ok<{ id: number; plugin_version: number; pinned_version: number | null }>(
      'config',
      'create',
      '--team',
      String(teamId),
      '--plugin',
      'cli-versioned',
    )
    assert.deepEqual([created.plugin_version, created.pinned_version], [1, null])
    await ok('plugin', 'install', versionDir(2))
    const pinned = await ok<{ plugin_version: number; pinned_version: number }>('config', 'update', String(created.id), '--pin-version', '2')
    assert.deepEqual([pinned.plugin_version, pinned.pinned_version], [2, 2])

    const rolledBack = await ok<{ status: string; message: string; plugin: { version: number } }>('plugin', 'rollback', 'cli-versioned', '--to-version', '1')
    assert.equal(rolledBack.plugin.version, 1)
    assert.match(rolledBack.message, /rolled back from version 2 to version 1; 0 config\(s\) without a pin now run it/)
    const listed = await ok<{ id: number; plugin_version: number }[]>('config', 'list', '--team', String(teamId))
    assert.deepEqual(
      listed.map((c) => [c.id, c.plugin_version]),
      [[created.id, 2]],
      'the pinned config stays on version 2',
    )
    const unpinned = await ok<{ plugin_version: number; pinned_version: number | null }>('config', 'update', String(created.id), '--unpin')
    assert.deepEqual([unpinned.plugin_version, unpinned.pinned_version], [1, null])

    const noSuch = await cli('plugin', 'rollback', 'cli-versioned', '--to-version', '9')
    assert.equal(noSuch.code, 1)
    assert.match(noSuch.stderr, /plugin-server: plugin "cli-versioned" has no version 9 \(it has versions 1, 2\)/)
    const both = await cli('config', 'update', String(created.id), '--pin-version', '1', '--unpin')
    assert.equal(both.code, 1)
    assert.match(both.stderr, /--pin-version and --unpin contradict each other/)

    const refused = await cli('plugin', 'delete', 'cli-versioned')
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, new RegExp(`is used by 1 config\\(s\\): config ${created.id} \\(team ${teamId}, disabled\\)`))
    assert.match(refused.stderr, /or pass --force to delete them with it/, 'says how to force it')
    const deleted = await ok<{ deleted: boolean; deleted_configs: { id: number }[] }>('plugin', 'delete', 'cli-versioned', '--force')
    assert.deepEqual(
      deleted.deleted_configs.map((c) => c.id),
      [created.id],
    )
    assert.deepEqual(await ok('plugin', 'list'), [])
  })
})
