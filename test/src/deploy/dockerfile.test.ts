import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { accessSync, constants, existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'
import { ROLES } from '@plugin-server/core'
import { REPO_ROOT } from '../harness/processes'

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

  it('installs every workspace, runs as non-root with --no-node-snapshot on Node LTS', () => {
    const workspaces = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces
    for (const ws of workspaces) assert.ok(instructions.includes(`COPY ${ws}/package.json ${ws}/`), `Dockerfile does not copy ${ws}/package.json before npm ci`)
    assert.match(dockerfile, /^ARG NODE_VERSION=(22|24)$/m)
    assert.match(dockerfile, /npm prune --omit=dev/)
    assert.match(dockerfile, /^USER 10001:10001$/m)
    const entrypoint = path.join(REPO_ROOT, 'scripts/docker-entrypoint.sh')
    accessSync(entrypoint, constants.X_OK)
    assert.match(readFileSync(entrypoint, 'utf8'), /exec node --no-node-snapshot \/app\/bin\/plugin-server\.js "\$@"/)
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
