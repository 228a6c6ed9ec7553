import { ChildProcess, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { GLIBC_MALLOC_TUNABLES, Role } from '@plugin-server/core'

export interface DemoProcess {
  role: Role
  logFile: string
  child: ChildProcess
}

const BIN = path.resolve(__dirname, '../../../../bin/plugin-server.js')

/** Each role runs as its own process, as it would in a pod, writing JSON logs to its own file. */
export function spawnRole(role: Role, index: number, env: Record<string, string>, logDir: string): DemoProcess {
  const logFile = path.join(logDir, `${role}-${index}.log`)
  const out = fs.openSync(logFile, 'a')
  const child = spawn(process.execPath, ['--no-node-snapshot', BIN, 'start', role], {
    env: { GLIBC_TUNABLES: GLIBC_MALLOC_TUNABLES, ...process.env, ...env, LOG_FORMAT: 'json' },
    stdio: ['ignore', out, out],
  })
  fs.closeSync(out)
  return { role, logFile, child }
}

export async function stopFleet(processes: DemoProcess[]): Promise<void> {
  await Promise.all(
    processes.map(
      ({ child }) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          child.once('exit', () => resolve())
          child.kill('SIGTERM')
        }),
    ),
  )
}
