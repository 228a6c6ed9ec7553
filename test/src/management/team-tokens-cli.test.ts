import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { findTeamAdminToken } from '@plugin-server/management'
import { startCli } from '../harness/processes'
import { cliEnv, createTeamRow, ManagementHarness, startManagement } from './management-fixture'

interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

describe('plugin-server team token create|list|revoke (CLI)', () => {
  let h: ManagementHarness
  let env: Record<string, string>

  /** Raw stdout as well: the harness splits it into log lines, and the results are pretty JSON. */
  async function cli(...args: string[]): Promise<CliResult> {
    const proc = startCli(args, env)
    let stdout = ''
    proc.child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()))
    const code = await new Promise<number | null>((resolve) => proc.child.once('close', (c: number | null) => resolve(c)))
    return { code, stdout, stderr: proc.stderr.join('\n') }
  }

  before(async () => {
    h = await startManagement()
    env = cliEnv(h)
  })

  after(() => h.close())

  it('shows the token once at creation, never in listings, stores only its hash, and revokes it', async () => {
    const teamId = await createTeamRow(h, 'acme')
    const created = await cli('team', 'token', 'create', String(teamId), '--name', 'ci')
    assert.equal(created.code, 0, created.stderr)
    const view = JSON.parse(created.stdout) as { id: number; team_id: number; name: string; token: string; revoked_at: unknown }
    assert.match(view.token, /^pst_[A-Za-z0-9_-]{43}$/)
    assert.deepEqual([view.team_id, view.name, view.revoked_at], [teamId, 'ci', null])
    assert.equal(created.stdout.split(view.token).length, 2, 'the token appears exactly once on stdout')
    assert.ok(!created.stderr.includes(view.token), 'the token is not logged')

    const { rows } = await h.db.pool.query<{ token_hash: string }>('SELECT token_hash FROM team_admin_tokens WHERE id = $1', [view.id])
    assert.equal(rows[0].token_hash, createHash('sha256').update(view.token).digest('hex'))
    const dump = await h.db.pool.query('SELECT * FROM team_admin_tokens')
    assert.ok(!JSON.stringify(dump.rows).includes(view.token), 'the table never holds the token itself')

    const listed = await cli('team', 'token', 'list', String(teamId))
    assert.equal(listed.code, 0, listed.stderr)
    assert.ok(!listed.stdout.includes(view.token) && !listed.stdout.includes(rows[0].token_hash), 'list shows neither the token nor its hash')
    const tokens = JSON.parse(listed.stdout) as Record<string, unknown>[]
    assert.deepEqual(
      tokens.map((t) => Object.keys(t).sort()),
      [['created_at', 'id', 'last_used_at', 'name', 'revoked_at', 'team_id']],
    )

    assert.equal((await findTeamAdminToken(h.ctx, view.token)).status, 'valid')
    const revoked = await cli('team', 'token', 'revoke', String(view.id))
    assert.equal(revoked.code, 0, revoked.stderr)
    assert.notEqual((JSON.parse(revoked.stdout) as { revoked_at: unknown }).revoked_at, null)
    assert.equal((await findTeamAdminToken(h.ctx, view.token)).status, 'revoked')
    const after = JSON.parse((await cli('team', 'token', 'list', String(teamId))).stdout) as { revoked_at: unknown }[]
    assert.notEqual(after[0].revoked_at, null)
  })

  it('fails clearly for an unknown team or token and a bad id', async () => {
    const noTeam = await cli('team', 'token', 'create', '999999')
    assert.equal(noTeam.code, 1)
    assert.match(noTeam.stderr, /team 999999 not found/)
    const noToken = await cli('team', 'token', 'revoke', '999999')
    assert.equal(noToken.code, 1)
    assert.match(noToken.stderr, /team admin token 999999 not found/)
    const badId = await cli('team', 'token', 'list', 'abc')
    assert.notEqual(badId.code, 0)
    assert.match(badId.stderr, /teamId must be a positive integer/)
    const tooLarge = await cli('team', 'token', 'list', '99999999999')
    assert.notEqual(tooLarge.code, 0)
    assert.match(tooLarge.stderr, /teamId must be at most 2147483647/)
  })
})
