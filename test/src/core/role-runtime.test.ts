import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { eventually } from '../harness/fleet'
import { FleetProcess, REPO_ROOT } from '../harness/processes'
import { TEST_SECURITY_ENV } from '../harness/security-env'

const CORE = path.join(REPO_ROOT, 'libs/core/dist')

/**
 * A role in a real process whose start() goes on until a line comes on its stdin (a scheduler
 * setting up its configs, say) and returns one closer, which logs when it runs.
 */
function startSlowRole(env: Record<string, string> = {}): FleetProcess {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'role-runtime-'))
  const file = path.join(dir, 'role.js')
  fs.writeFileSync(
    file,
    `const { runRole } = require(${JSON.stringify(CORE)})
     void runRole('ingest-worker', async (ctx) => {
       ctx.logger.info('start began')
       await new Promise((resolve) => process.stdin.once('data', resolve))
       return { closers: [{ name: 'worker', close: async () => ctx.logger.info('worker closed') }] }
     })`,
  )
  const child = spawn(process.execPath, ['--no-node-snapshot', file], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...TEST_SECURITY_ENV, LOG_FORMAT: 'json', LOG_LEVEL: 'info', METRICS_PORT: '0', SHUTDOWN_GRACE_MS: '60000', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const proc = new FleetProcess('slow role', child)
  void proc.exited.then(() => fs.rmSync(dir, { recursive: true, force: true }))
  return proc
}

describe('runRole while the role is still starting', function () {
  this.timeout(60_000)
  let role: FleetProcess

  beforeEach(async () => {
    role = startSlowRole()
    await role.waitForLog((l) => l.msg === 'start began')
  })
  afterEach(async () => role.kill('SIGKILL'))

  const get = async (url: string) => {
    const res = await fetch(`http://127.0.0.1:${await role.healthPort()}${url}`)
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }

  it('answers /healthz at once and fails /readyz until start() returned', async () => {
    assert.deepEqual(await get('/healthz'), { status: 200, body: { status: 'ok' } })
    const readyz = await get('/readyz')
    assert.equal(readyz.status, 503)
    // Only this check is asserted: Redis' and Postgres' may lag on a busy machine as well.
    assert.equal((readyz.body.failures as Record<string, string>).started, 'ingest-worker is still starting')
    role.child.stdin!.write('go\n')
    await role.waitForLog((l) => l.msg === 'ingest-worker started')
    await eventually(
      'ready',
      async () => (await get('/readyz')).status,
      (s) => s === 200,
    )
  })

  it('shuts down gracefully on a SIGTERM that comes before start() returned, with the closers start() returns', async () => {
    role.child.kill('SIGTERM')
    await role.waitForLog((l) => l.msg === 'shutting down')
    role.child.stdin!.write('go\n')
    assert.equal(await role.exited, 0)
    const messages = role.lines.map((l) => l.msg)
    assert.ok(messages.includes('worker closed'), JSON.stringify(messages))
    assert.ok(messages.indexOf('worker closed') < messages.indexOf('shutdown complete'), JSON.stringify(messages))
  })
})

/** The role's warning that starts with `start`, once it has started with `env`. */
async function warningAtStart(env: Record<string, string>, start: string) {
  const role = startSlowRole(env)
  try {
    await role.waitForLog((l) => l.msg === 'start began')
    role.child.stdin?.write('go\n')
    const line = await role.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith(start))
    assert.equal(line.level, 40)
    return line
  } finally {
    await role.kill('SIGKILL')
  }
}

describe('runRole with a misspelt variable', function () {
  this.timeout(60_000)

  it('warns at start naming it and the variable it is closest to', async () => {
    const line = await warningAtStart({ PLUGIN_TIMEOUT_MSS: '1000' }, 'variables set that plugin-server does not read')
    assert.deepEqual(line.variables, ['PLUGIN_TIMEOUT_MSS (did you mean PLUGIN_TIMEOUT_MS?)'])
  })
})

describe('runRole with TIME_SCALE set', function () {
  this.timeout(60_000)

  it('warns at start that TIME_SCALE is a test setting that shortens what plugins are promised, naming its value', async () => {
    const line = await warningAtStart({ TIME_SCALE: '60' }, 'TIME_SCALE=')
    assert.match(String(line.msg), /^TIME_SCALE=60 is a test setting: runEvery\* intervals .* 60 times shorter; unset it in production$/)
  })
})
