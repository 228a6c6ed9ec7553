import type { Command } from 'commander'
import { ROLES, Role, RoleContext, RunningRole, runRole } from '@plugin-server/core'
import { start as capture } from '@plugin-server/capture'
import { start as ingestWorker } from '@plugin-server/ingest-worker'
import { start as jobWorker } from '@plugin-server/job-worker'
import { start as scheduler } from '@plugin-server/scheduler'
import { start as exporter } from '@plugin-server/exporter'
import { fail } from '../cli-context'

const STARTERS: Record<Role, (ctx: RoleContext) => Promise<RunningRole>> = {
  capture,
  'ingest-worker': ingestWorker,
  'job-worker': jobWorker,
  scheduler,
  exporter,
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .argument('<role>', `one of: ${ROLES.join(', ')}`)
    .description('run one role of the fleet in this process (configured by environment variables, see README)')
    .action(async (role: string) => {
      if (!ROLES.includes(role as Role)) fail(`unknown role "${role}": expected one of ${ROLES.join(', ')}`)
      await runRole(role as Role, STARTERS[role as Role]).catch((err: Error) => fail(`${role} could not start: ${err.message}`))
    })
}
