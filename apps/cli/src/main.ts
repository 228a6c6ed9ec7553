import { Command } from 'commander'
import pino from 'pino'
import { installFatalHandlers } from '@plugin-server/core'
import { registerDemo } from './commands/demo'
import { registerExport } from './commands/export'
import { registerJob } from './commands/job'
import { registerSecrets } from './commands/secrets'
import { registerConfig } from './commands/config'
import { registerMigrate } from './commands/migrate'
import { registerPluginManagement } from './commands/plugin'
import { registerPluginRun } from './commands/plugin-run'
import { registerPluginTry } from './commands/plugin-try'
import { registerStart } from './commands/start'
import { registerTeam } from './commands/team'

// Before anything runs: a crash in any command is logged and exits promptly (`start` swaps in the role's logger).
installFatalHandlers(pino({ base: { pid: process.pid, cli: true } }, pino.destination({ dest: 2, sync: true })))

const program = new Command('plugin-server').description('Run PostHog-compatible plugins over a stream of analytics events').showHelpAfterError()
registerStart(program)
registerMigrate(program)
registerTeam(program)
const plugin = program.command('plugin').description('install, inspect and try plugins')
registerPluginManagement(plugin)
registerPluginRun(plugin)
registerPluginTry(plugin)
registerConfig(program)
registerExport(program)
registerJob(program)
registerSecrets(program)
registerDemo(program)

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`plugin-server: ${err.message}\n`)
  process.exit(1)
})
