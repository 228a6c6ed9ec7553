import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { ROLES } from '@plugin-server/core'
import { createTestFleet, TestFleet } from '../harness/fleet'
import { CLI, FleetProcess, REPO_ROOT } from '../harness/processes'

const REQUIRED_MAJOR = Number(readFileSync(path.join(REPO_ROOT, '.nvmrc'), 'utf8').trim().split('.')[0])

/** A node binary on PATH (or the usual places) older than the project's, as on a machine that has only the system Node. */
function olderSystemNode(): string | undefined {
  const candidates = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/local/bin'].map((dir) => path.join(dir, 'node'))
  return candidates.find((node) => {
    if (!existsSync(node)) return false
    const version = spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim()
    return Number(version.split('.')[0]) < REQUIRED_MAJOR
  })
}

async function metricsOf(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`)
  assert.equal(response.status, 200)
  return response.text()
}

describe('the Node runtime', () => {
  let fleet: TestFleet
  const extra: FleetProcess[] = []

  before(async () => {
    fleet = await createTestFleet()
  })
  after(async () => {
    await Promise.all(extra.map((p) => p.kill('SIGTERM')))
    await fleet.close()
  })

  it(`runs the tests on the Node major of .nvmrc (${REQUIRED_MAJOR})`, () => {
    assert.equal(Number(process.versions.node.split('.')[0]), REQUIRED_MAJOR, `tests run on ${process.version}`)
  })

  it('every npm script starts Node through scripts/node, so `npm test` from an older Node runs on the project Node', () => {
    const { scripts } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    for (const [name, command] of Object.entries(scripts)) {
      assert.doesNotMatch(command, /(^|&&|;|\|\|)\s*node\s/, `npm script "${name}" runs the system node: use scripts/node`)
    }
    assert.match(scripts.test, /scripts\/node --no-node-snapshot node_modules\/mocha\/bin\/mocha\.js/)
  })

  it('every role logs its Node version at start-up and exports nodejs_version_info on /metrics', async () => {
    // One at a time, as a busy machine starts five roles at once too slowly for the harness's wait.
    for (const role of ROLES) {
      const proc = await fleet.start(role)
      const started = await proc.waitForLog((l) => l.msg === `${role} started`)
      assert.equal(started.node, process.version, `${role} start-up log`)
      const metrics = await metricsOf(Number(started.healthPort))
      assert.ok(metrics.includes(`nodejs_version_info{version="${process.version}"`), `${role} /metrics has no nodejs_version_info for ${process.version}`)
    }
  })

  it('bin/plugin-server.js started by an older system Node (or, where there is none, without --no-node-snapshot) runs the role on the project Node', async () => {
    // Both go through the CLI's one re-execution: to the project's Node when too old, with the flag either way.
    const older = olderSystemNode() ?? process.execPath
    const child = spawn(older, [CLI, 'start', 'scheduler'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...fleet.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const proc = new FleetProcess(`scheduler under ${older}`, child)
    extra.push(proc)
    const started = await proc.waitForLog((l) => l.msg === 'scheduler started')
    assert.equal(started.node, process.version)
    assert.equal(Number(String(started.node).slice(1).split('.')[0]), REQUIRED_MAJOR)
  })
})
