import { newTeamTokenProblem } from '@plugin-server/core'
import type { Command } from 'commander'
import { createTeam, findTeamById, listTeams, setTeamAnonymizeIps, Team } from '@plugin-server/db'
import { createTeamAdminToken, deleteTeam, listTeamAdminTokens, revokeTeamAdminToken, teamUsage } from '@plugin-server/management'
import { withManagement, withPool } from '../cli-context'
import { printResult } from '../output'
import { printAllPages } from '../print-pages'
import { onOff, positiveInt } from './option-parsers'

function registerTeamTokens(team: Command): void {
  const token = team.command('token').description("team-scoped admin API tokens: they reach only their team's configs and settings")
  token
    .command('create')
    .argument('<teamId>', 'team id', positiveInt('teamId'))
    .option('--name <name>', 'a label to recognise the token by', '')
    .description('create a token and print it; this is the only time it is shown')
    .action(async (teamId: number, options: { name: string }) => {
      printResult(await withManagement((ctx) => createTeamAdminToken(ctx, teamId, options.name)))
    })
  token
    .command('list')
    .argument('<teamId>', 'team id', positiveInt('teamId'))
    .description("list a team's tokens (never the tokens themselves), revoked ones included")
    .action(async (teamId: number) => printResult(await withManagement((ctx) => listTeamAdminTokens(ctx, teamId))))
  token
    .command('revoke')
    .argument('<tokenId>', 'token id (from token list)', positiveInt('tokenId'))
    .description('revoke a token; requests with it get 401 from then on')
    .action(async (tokenId: number) => printResult(await withManagement((ctx) => revokeTeamAdminToken(ctx, tokenId))))
}

export function registerTeam(program: Command): void {
  const team = program.command('team').description('manage teams (projects) and their API tokens')
  team
    .command('create')
    .requiredOption('--name <name>', 'team name')
    .option('--token <token>', 'API token to use instead of a generated one')
    .option('--anonymize-ips', "keep no client address for the team's events (PostHog's anonymize_ips)")
    .description('create a team and print it with its API token')
    .action(async (options: { name: string; token?: string; anonymizeIps?: boolean }) => {
      const problem = options.token === undefined ? null : newTeamTokenProblem(options.token)
      if (problem) throw new Error(`--token ${problem}`)
      printResult(await withPool((pool) => createTeam(pool, options.name, options.token, { anonymizeIps: options.anonymizeIps === true })))
    })
  team
    .command('settings')
    .argument('<teamId>', 'team id', positiveInt('teamId'))
    .option(
      '--anonymize-ips <on|off>',
      "on: capture keeps no client address for the team's events (no event.ip, no $ip); off: the address is stored as $ip",
      onOff('--anonymize-ips'),
    )
    .description("print the team's settings, changing those given first")
    .action(async (teamId: number, options: { anonymizeIps?: boolean }) => {
      const team = await withPool((pool) =>
        options.anonymizeIps === undefined ? findTeamById(pool, teamId) : setTeamAnonymizeIps(pool, teamId, options.anonymizeIps),
      )
      if (!team) throw new Error(`team ${teamId} not found`)
      printResult({ id: team.id, name: team.name, anonymize_ips: team.anonymize_ips })
    })
  team
    .command('list')
    .description('list teams, in id order')
    .action(() => withPool((pool) => printAllPages<Team>((last, size) => listTeams(pool, last?.id ?? 0, size))))
  team
    .command('usage')
    .argument('<teamId>', 'team id', positiveInt('teamId'))
    .description(
      "what the team's plugins hold in Redis (cache, cursors, pending jobs), in meta.storage and in export deliveries waiting, against PLUGIN_TEAM_REDIS_LIMIT_MB, PLUGIN_TEAM_STORAGE_LIMIT_MB and EXPORT_TEAM_MAX_PENDING_EVENTS",
    )
    .action(async (teamId: number) => printResult(await withManagement((ctx, config) => teamUsage(ctx, teamId, config))))
  team
    .command('delete')
    .argument('<teamId>', 'team id', positiveInt('teamId'))
    .option('--force', 'also delete its plugin configs and stored events (refused otherwise, saying what it has)')
    .description('delete a team with its configs, admin tokens, events, plugin log rows and Redis keys; run it again to finish a delete that stopped halfway')
    .action(async (teamId: number, options: { force?: boolean }) =>
      printResult(await withManagement((ctx) => deleteTeam(ctx, teamId, { force: options.force === true, forceHint: 'pass --force' }))),
    )
  registerTeamTokens(team)
}
