import { ChildProcess, spawn, StdioOptions } from 'node:child_process'
import path from 'node:path'
import { GLIBC_MALLOC_TUNABLES } from '@plugin-server/core'

const BIN = path.resolve(__dirname, '../../bin/plugin-server.js')

export interface RoleOptions {
  /** Node flags before the script, e.g. `--cpu-prof`. */
  nodeArgs?: readonly string[]
  stdio?: StdioOptions
}

/**
 * `plugin-server start <role>` with the malloc setting the image runs every role with. The bin sets
 * it only when it re-executes itself, which it skips when started with --no-node-snapshot as here,
 * and the setting changes the roles' RSS (libs/core/src/malloc-tunables.ts). `env` may override it.
 */
export function spawnRole(role: string, env: NodeJS.ProcessEnv, options: RoleOptions = {}): ChildProcess {
  return spawn(process.execPath, ['--no-node-snapshot', ...(options.nodeArgs ?? []), BIN, 'start', role], {
    env: { GLIBC_TUNABLES: GLIBC_MALLOC_TUNABLES, ...env },
    stdio: options.stdio ?? 'inherit',
  })
}
