import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { FleetProcess, REPO_ROOT } from '../harness/processes'
import { TEST_SECURITY_ENV } from '../harness/security-env'

const CORE = path.join(REPO_ROOT, 'libs/core/dist')
const POOL_SIZE = 3
const PROBES = 500
/** The chart's readinessProbe timeoutSeconds. */
const PROBE_TIMEOUT_MS = 3000

/**
 * A scheduler whose work holds every client of its pool (50 jobs over 10 connections, in small),
 * released when a line comes on its stdin; a query queued behind them waits meanwhile.
 */
function startBusyRole(databaseUrl: string): FleetProcess {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'readyz-busy-pool-'))
  const file = path.join(dir, 'role.js')
  fs.writeFileSync(
    file,
    `const { runRole } = require(${JSON.stringify(CORE)})
     void runRole('scheduler', async (ctx) => {
       const held = await Promise.all(Array.from({ length: ${POOL_SIZE} }, () => ctx.pool().connect()))
       // Queued behind them; asked again when the pool's connect timeout gives up on it.
       const queued = () =>
         ctx.pool().query('SELECT 1').then(
           () => ctx.logger.info('pool released'),
           (err) => /timeout/.test(err.message) && queued(),
         )
       void queued()
       ctx.logger.info('pool held')
       process.stdin.once('data', () => {
         for (const client of held) client.release()
       })
       return { closers: [] }
     })`,
  )
  const child = spawn(process.execPath, ['--no-node-snapshot', file], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      ...TEST_SECURITY_ENV,
      DATABASE_URL: databaseUrl,
      QUEUE_PREFIX: testQueuePrefix(),
      PG_POOL_SIZE: String(POOL_SIZE),
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      METRICS_PORT: '0',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const proc = new FleetProcess('busy scheduler', child)
  void proc.exited.then(() => fs.rmSync(dir, { recursive: true, force: true }))
  return proc
}

describe('/readyz while the role keeps every client of its pool busy', function () {
  this.timeout(120_000)
  let db: TestDatabase
  let role: FleetProcess
  let port: number

  before(async () => {
    db = await createTestDatabase()
    role = startBusyRole(db.url)
    port = await role.healthPort()
    await role.waitForLog((l) => l.msg === 'pool held')
  })
  after(async () => {
    // Released first: the pool's end waits for the clients held.
    role?.child.stdin?.write('go\n')
    await role?.kill('SIGTERM')
    await db?.drop()
  })

  const readyz = async () => {
    const started = Date.now()
    const res = await fetch(`http://127.0.0.1:${port}/readyz`)
    return { status: res.status, body: await res.text(), ms: Date.now() - started }
  }
  const connections = async (applicationName: string) => {
    const { rows } = await db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1',
      [applicationName],
    )
    return rows[0].n
  }
  const metric = async (line: RegExp) => Number(line.exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())?.[1])

  it('stays ready: its Postgres check does not queue behind the pool', async () => {
    await eventually('ready', readyz, (r) => r.status === 200)
    await eventually(
      'a query of the role waits for a client',
      () => metric(/^postgres_pool_waiting\S* (\d+)$/m),
      (n) => n === 1,
    )
    assert.equal(await connections('plugin-server scheduler'), POOL_SIZE, 'every pool client connected (and held)')
    // Longer than the 2 s the check had behind the pool.
    for (let i = 0; i < 5; i++) {
      const probe = await readyz()
      assert.equal(probe.status, 200, probe.body)
      assert.ok(probe.ms < PROBE_TIMEOUT_MS, `${probe.ms} ms`)
    }
  })

  it(`opens one readiness connection for ${PROBES} probes, and no other`, async () => {
    const samples: number[] = []
    for (let i = 0; i < PROBES; i++) {
      assert.equal((await readyz()).status, 200)
      if (i % 50 === 0) samples.push(await connections('plugin-server scheduler readiness'))
    }
    samples.push(await connections('plugin-server scheduler readiness'))
    assert.deepEqual(samples, Array(samples.length).fill(1))
    assert.equal(await connections('plugin-server scheduler'), POOL_SIZE, 'the pool neither grew nor shrank')
  })

  it('closes the readiness connection at shutdown', async () => {
    role.child.stdin!.write('go\n')
    await role.waitForLog((l) => l.msg === 'pool released')
    await role.kill('SIGTERM')
    await eventually(
      'no connection of the role left',
      () => connections('plugin-server scheduler readiness'),
      (n) => n === 0,
    )
  })
})
