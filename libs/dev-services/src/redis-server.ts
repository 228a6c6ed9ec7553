import { ChildProcess, spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import type { LocalServer } from './interfaces'
import { freePort, waitFor } from './free-port'
import { which } from './which'

export interface RedisServerOptions {
  port?: number
  /** AOF persistence, so a restart keeps the queues (the chaos run relies on it). */
  appendOnly?: boolean
  dir?: string
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<LocalServer> {
  const binary = which('redis-server')
  if (!binary) throw new Error('redis-server not found on PATH: install it (Debian: apt-get install redis-server) or set REDIS_URL')
  const port = options.port ?? (await freePort())
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ps-redis-'))
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--daemonize',
    'no',
    '--appendonly',
    options.appendOnly ? 'yes' : 'no',
    '--appendfsync',
    'everysec',
    '--protected-mode',
    'no',
  ]
  let child: ChildProcess | null = null
  const start = async () => {
    child = spawn(binary, args, { stdio: 'ignore' })
    await waitFor(`redis-server on port ${port}`, () => ping(port), 10_000)
  }
  const halt = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const proc = child
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise((r) => proc.once('exit', r))
    proc.kill(signal)
    await exited
  }
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    restart: async (how = 'clean') => {
      await halt(how === 'crash' ? 'SIGKILL' : 'SIGTERM')
      await start()
    },
    stop: async () => {
      await halt()
      if (!options.dir) fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('error', () => resolve(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => {
      socket.destroy()
      resolve(data.toString().startsWith('+PONG'))
    })
  })
}
