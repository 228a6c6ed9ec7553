import type { Command } from 'commander'
import { createTeam, listTeams } from '@plugin-server/db'
import { printJson, withPool } from '../cli-context'

export function registerTeam(program: Command): void {
  const team = program.command('team').description('manage teams (projects) and their API tokens')
  team
    .command('create')
    .requiredOption('--name <name>', 'team name')
    .option('--token <token>', 'API token to use instead of a generated one')
    .description('create a team and print it with its API token')
    .action(async (options: { name: string; token?: string }) => {
      printJson(await withPool((pool) => createTeam(pool, options.name, options.token)))
    })
  team
    .command('list')
    .description('list teams')
    .action(async () => printJson(await withPool((pool) => listTeams(pool))))
}
