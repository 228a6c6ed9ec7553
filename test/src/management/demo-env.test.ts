import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { FleetProcess, runCli, startCli } from '../harness/processes'

/** The `export NAME='value'` lines of the demo's env file, as an environment. */
function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const match = /^export ([A-Z_]+)='(.*)'$/.exec(line)
    if (match) env[match[1]] = match[2].replace(/'\\''/g, "'")
  }
  return env
}

interface ConfigView {
  id: number
  plugin_name: string
  config: Record<string, string>
  secret_fields: Record<string, string>
}

describe('plugin-server demo: the environment another shell needs', function () {
  this.timeout(180_000)
  let db: TestDatabase
  let demo: FleetProcess
  let envFile: string
  let shellEnv: Record<string, string>
  let teamId: number

  before(async () => {
    db = await createTestDatabase()
    envFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-demo-env-')), 'demo', 'env')
    // No PLUGIN_SECRETS_KEYS: the demo makes its own key, the case another shell could not read before.
    demo = startCli(['demo', '--events', '20', '--write-env', envFile], {
      REDIS_URL: process.env.REDIS_URL!,
      DATABASE_URL: db.url,
      QUEUE_PREFIX: testQueuePrefix(),
      PLUGIN_SECRETS_KEYS: '',
    })
    const written = await demo.waitForLog((l) => /environment for another shell written to/.test(String(l.msg)), 120_000)
    assert.ok(String(written.msg).includes(envFile))
    const created = await demo.waitForLog((l) => /team \d+ created/.test(String(l.msg)))
    teamId = Number(/team (\d+) created/.exec(String(created.msg))![1])
    shellEnv = readEnvFile(envFile)
  })
  after(async () => {
    await demo?.kill('SIGINT')
    await db?.drop()
  })

  it('writes REDIS_URL, DATABASE_URL, PLUGIN_SECRETS_KEYS, ADMIN_API_TOKEN and QUEUE_PREFIX to the file it names, readable by its user only', () => {
    assert.deepEqual(Object.keys(shellEnv).sort(), ['ADMIN_API_TOKEN', 'DATABASE_URL', 'PLUGIN_SECRETS_KEYS', 'QUEUE_PREFIX', 'REDIS_URL'])
    assert.equal(shellEnv.DATABASE_URL, db.url)
    assert.match(shellEnv.PLUGIN_SECRETS_KEYS, /^demo:[A-Za-z0-9+/]{43}=$/)
    assert.equal(fs.statSync(envFile).mode & 0o777, 0o600)
  })

  it('prints the same exports on its output', async () => {
    // The exports are logged after the line the before hook waited for, and may arrive in a later chunk.
    for (const [name, value] of Object.entries(shellEnv)) {
      const printed = await demo.waitForLog((l) => String(l.msg).includes(`export ${name}='${value}'`), 30_000).catch(() => undefined)
      assert.ok(printed, `the demo printed export ${name}`)
    }
  })

  it('another shell with that environment lists and gets the configs and can change a secret (sealed with the same key)', async () => {
    const listed = await runCli(['config', 'list', '--team', String(teamId), '--json'], shellEnv)
    assert.equal(listed.code, 0, listed.stderr)
    const configs = JSON.parse(listed.stdout) as ConfigView[]
    const httpExport = configs.find((c) => c.secret_fields.authToken !== undefined)
    assert.ok(httpExport, `the demo's HTTP export config is listed: ${listed.stdout}`)
    assert.equal(httpExport.secret_fields.authToken, 'set')
    const got = await runCli(['config', 'get', String(httpExport.id), '--json'], shellEnv)
    assert.equal(got.code, 0, got.stderr)
    assert.equal((JSON.parse(got.stdout) as ConfigView).id, httpExport.id)
    const updated = await runCli(['config', 'update', String(httpExport.id), '--config', 'authToken=rotated-token-123', '--json'], shellEnv)
    assert.equal(updated.code, 0, `a write seals with the demo's key: ${updated.stderr}`)
  })

  it('reading configs needs no secrets key: config list and get work in a shell without PLUGIN_SECRETS_KEYS, secrets shown only as set', async () => {
    const noKey = { ...shellEnv, PLUGIN_SECRETS_KEYS: '' }
    const listed = await runCli(['config', 'list', '--team', String(teamId), '--json'], noKey)
    assert.equal(listed.code, 0, listed.stderr)
    assert.doesNotMatch(listed.stdout, /enc:v1:/, 'no sealed value in the output')
    const configs = JSON.parse(listed.stdout) as ConfigView[]
    const httpExport = configs.find((c) => c.secret_fields.authToken !== undefined)!
    assert.equal(httpExport.secret_fields.authToken, 'set')
    const got = await runCli(['config', 'get', String(httpExport.id), '--json'], noKey)
    assert.equal(got.code, 0, got.stderr)
    assert.doesNotMatch(got.stdout, /enc:v1:|rotated-token-123/)
    const write = await runCli(['config', 'update', String(httpExport.id), '--config', 'authToken=another-one-456'], noKey)
    assert.notEqual(write.code, 0, 'writing a secret still needs the key')
    assert.match(write.stderr, /PLUGIN_SECRETS_KEYS/)
  })

  it('the admin API reads configs with the operator token from the file', async () => {
    const line = await demo.waitForLog((l) => /capture endpoint\s+http:/.test(String(l.msg)), 90_000)
    const capture = /(http:\/\/127\.0\.0\.1:\d+)/.exec(String(line.msg))![1]
    const res = await fetch(`${capture}/api/teams/${teamId}/configs`, { headers: { authorization: `Bearer ${shellEnv.ADMIN_API_TOKEN}` } })
    assert.equal(res.status, 200, await res.clone().text())
    assert.ok(((await res.json()) as ConfigView[]).length > 0)
  })

  it('removes the file when it stops', async () => {
    await demo.kill('SIGINT')
    assert.equal(fs.existsSync(envFile), false)
  })
})
