import assert from 'node:assert/strict'
import { runCli } from '../harness/processes'
import { cliEnv, createTeamRow, ManagementHarness, startManagement } from './management-fixture'

describe('plugin-server team settings and team create --anonymize-ips (CLI)', () => {
  let h: ManagementHarness
  let env: Record<string, string>

  before(async () => {
    h = await startManagement()
    env = cliEnv(h)
  })
  after(() => h.close())

  it("prints a team's settings, turns anonymize_ips on and off, and names a wrong value or an unknown team", async () => {
    const teamId = await createTeamRow(h, 'acme')
    const settings = async (...args: string[]) => {
      const result = await runCli(['team', 'settings', String(teamId), ...args], env)
      assert.equal(result.code, 0, result.stderr)
      return JSON.parse(result.stdout) as unknown
    }
    assert.deepEqual(await settings(), { id: teamId, name: 'acme', anonymize_ips: false })
    assert.deepEqual(await settings('--anonymize-ips', 'on'), { id: teamId, name: 'acme', anonymize_ips: true })
    assert.deepEqual(await settings(), { id: teamId, name: 'acme', anonymize_ips: true })
    assert.deepEqual(await settings('--anonymize-ips', 'off'), { id: teamId, name: 'acme', anonymize_ips: false })
    const wrong = await runCli(['team', 'settings', String(teamId), '--anonymize-ips', 'yes'], env)
    assert.notEqual(wrong.code, 0)
    assert.match(wrong.stderr, /--anonymize-ips must be on or off/)
    const missing = await runCli(['team', 'settings', '999999'], env)
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /team 999999 not found/)
  })

  it('creates a team that anonymises IPs from the start', async () => {
    const result = await runCli(['team', 'create', '--name', 'private', '--anonymize-ips'], env)
    assert.equal(result.code, 0, result.stderr)
    const team = JSON.parse(result.stdout) as { id: number; anonymize_ips: boolean }
    assert.equal(team.anonymize_ips, true)
    const { rows } = await h.db.pool.query<{ anonymize_ips: boolean }>('SELECT anonymize_ips FROM teams WHERE id = $1', [team.id])
    assert.deepEqual(rows, [{ anonymize_ips: true }])
  })
})
