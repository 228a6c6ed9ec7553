import type { Command } from 'commander'
import { migrate } from '@plugin-server/db'
import { withPool } from '../cli-context'
import { printResult } from '../output'

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply pending Postgres migrations (idempotent; safe to run from several pods at once)')
    .action(async () => {
      const result = await withPool((pool) => migrate(pool, undefined, (id) => process.stderr.write(`applying ${id}\n`)))
      printResult(result)
    })
}
