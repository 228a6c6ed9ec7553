import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parse } from 'yaml'
import { GLIBC_MALLOC_TUNABLES, ROLES } from '@plugin-server/core'
import { REPO_ROOT } from '../harness/processes'

interface LockEntry {
  version: string
  dev?: boolean
  engines?: { node?: string }
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, file), 'utf8')) as T
}

// No Docker engine runs the tests: these checks catch what would break `docker build` or the image.
describe('container image', () => {
  const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8')
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'))
  const ignored = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))

  it('copies only files that exist and that .dockerignore lets through', () => {
    const sources = instructions
      .filter((l) => /^COPY\s/.test(l) && !l.includes('--from='))
      .flatMap((l) =>
        l
          .trim()
          .split(/\s+/)
          .slice(1, -1)
          .filter((a) => !a.startsWith('--')),
      )
    assert.ok(sources.length > 10)
    for (const source of sources) {
      assert.ok(existsSync(path.join(REPO_ROOT, source)), `${source} does not exist`)
      const top = source.replace(/\/$/, '')
      assert.ok(!ignored.some((pattern) => pattern === top || pattern === top.split('/')[0]), `${source} is excluded by .dockerignore`)
    }
  })

  it('installs every workspace, runs as non-root with --no-node-snapshot', () => {
    const workspaces = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces
    for (const ws of workspaces) assert.ok(instructions.includes(`COPY ${ws}/package.json ${ws}/`), `Dockerfile does not copy ${ws}/package.json before npm ci`)
    assert.match(dockerfile, /^RUN npm ci --omit=dev /m)
    assert.match(dockerfile, /^USER 10001:10001$/m)
    const entrypoint = path.join(REPO_ROOT, 'scripts/docker-entrypoint.sh')
    accessSync(entrypoint, constants.X_OK)
    assert.match(readFileSync(entrypoint, 'utf8'), /exec node --no-node-snapshot \/app\/bin\/plugin-server\.js "\$@"/)
  })

  it('builds on the Node major CI runs (.nvmrc, this test run) with the lockfile CI installed', () => {
    const major = Number(readFileSync(path.join(REPO_ROOT, '.nvmrc'), 'utf8').trim().split('.')[0])
    assert.equal(Number(process.versions.node.split('.')[0]), major, `the tests run on ${process.version}, .nvmrc says ${major}`)
    assert.equal(/^ARG NODE_VERSION=(\d+)$/m.exec(dockerfile)?.[1], String(major), 'Dockerfile NODE_VERSION')
    const froms = instructions.filter((l) => /^FROM\s/.test(l))
    assert.ok(froms.length >= 2)
    for (const from of froms) assert.match(from, /^FROM node:\$\{NODE_VERSION\}-bookworm(-slim)? AS \w+$/)

    const manifest = readJson<{ engines: { node: string } }>('package.json')
    assert.equal(manifest.engines.node, `>=${major}`)
    const lock = readJson<{ packages: Record<string, LockEntry> }>('package-lock.json').packages
    assert.deepEqual(lock[''].engines, manifest.engines, 'package-lock.json is not in step with package.json')
    // What CI ran is what the lockfile pins, and that isolated-vm is one made for this Node.
    const isolatedVm = lock['node_modules/isolated-vm']
    assert.equal(isolatedVm.version, readJson<{ dependencies: Record<string, string> }>('libs/plugin-vm/package.json').dependencies['isolated-vm'])
    assert.equal(readJson<{ version: string }>('node_modules/isolated-vm/package.json').version, isolatedVm.version)
    assert.ok(major >= Number(/^>=(\d+)/.exec(isolatedVm.engines?.node ?? '')?.[1]), `isolated-vm ${isolatedVm.version} wants Node ${isolatedVm.engines?.node}`)
    assert.equal(Number(lock['node_modules/@types/node'].version.split('.')[0]), major, '@types/node major')
  })

  it('installs the runtime with npm ci --omit=dev from the lockfile, bridged SDKs included', () => {
    const stages = dockerfile.split(/^FROM /m).slice(1)
    const runtime = stages.find((s) => /AS runtime/.test(s.split('\n')[0]))!
    const source = /^COPY --from=(\w+) \/app\/node_modules\/ node_modules\/$/m.exec(runtime)?.[1]
    const deps = stages.find((s) => s.split('\n')[0].endsWith(`AS ${source}`))
    assert.ok(deps, 'the runtime copies node_modules from no stage of the Dockerfile')
    assert.match(deps, /^RUN npm ci --omit=dev --no-audit --no-fund$/m)
    assert.match(deps, /^COPY package\.json package-lock\.json \.\/$/m)
    const lock = readJson<{ packages: Record<string, LockEntry> }>('package-lock.json').packages
    for (const sdk of ['aws-sdk', '@google-cloud/bigquery', '@google-cloud/pubsub', '@google-cloud/storage', 'snowflake-sdk', 'isolated-vm']) {
      assert.ok(lock[`node_modules/${sdk}`], `${sdk} is not in package-lock.json`)
      assert.notEqual(lock[`node_modules/${sdk}`].dev, true, `${sdk} is a dev dependency: npm ci --omit=dev leaves it out of the image`)
    }
  })

  it('runs every role with the malloc setting the soak run was measured with, in the image and in a re-executed CLI', () => {
    const env = instructions.find((l) => /^ENV /.test(l)) ?? ''
    assert.ok(env.includes(`GLIBC_TUNABLES=${GLIBC_MALLOC_TUNABLES}`), `the runtime image does not set GLIBC_TUNABLES=${GLIBC_MALLOC_TUNABLES}`)
    // Started without --no-node-snapshot, the CLI runs itself again; a preload shows the env that run gets.
    const preload = path.join(mkdtempSync(path.join(os.tmpdir(), 'malloc-env-')), 'print-env.js')
    writeFileSync(
      preload,
      `if (process.execArgv.includes('--no-node-snapshot')) process.stdout.write('child GLIBC_TUNABLES=' + process.env.GLIBC_TUNABLES + '\\n')\n`,
    )
    const env0 = { ...process.env }
    delete env0.GLIBC_TUNABLES
    const result = spawnSync(process.execPath, ['-r', preload, path.join(REPO_ROOT, 'bin/plugin-server.js'), '--help'], { encoding: 'utf8', env: env0 })
    assert.equal(result.status, 0, result.stderr)
    assert.match(result.stdout, new RegExp(`^child GLIBC_TUNABLES=${GLIBC_MALLOC_TUNABLES.replace(/\./g, '\\.')}$`, 'm'))
  })

  it('takes the role from the arguments or ROLE, and says so when neither is given', () => {
    const result = spawnSync('sh', [path.join(REPO_ROOT, 'scripts/docker-entrypoint.sh')], { encoding: 'utf8', env: { PATH: process.env.PATH } })
    assert.equal(result.status, 2)
    assert.match(result.stderr, /set ROLE to one of capture, ingest-worker, exporter, scheduler, job-worker/)
    for (const role of ROLES) assert.ok(result.stderr.includes(role))
  })

  it('docker-compose runs the whole fleet against Redis with AOF and a migrated Postgres', () => {
    const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { command?: string[]; environment?: Record<string, string>; depends_on?: Record<string, unknown> }>
    }
    const roles = Object.values(compose.services)
      .map((s) => (s.command?.[0] === 'start' ? s.command[1] : s.environment?.ROLE))
      .filter(Boolean)
    assert.deepEqual([...new Set(roles)].sort(), [...ROLES].sort())
    assert.equal(roles.filter((r) => r === 'ingest-worker').length, 2)
    assert.ok(compose.services.redis.command?.join(' ').includes('--appendonly yes'))
    assert.deepEqual(compose.services.migrate.command, ['migrate'])
    assert.ok(compose.services.capture.depends_on?.migrate)
  })
})
