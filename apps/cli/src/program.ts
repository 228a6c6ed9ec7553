import { Command } from 'commander'
import { setJsonOutput } from './output'
import { cliVersion } from './version'
import { registerDemo } from './commands/demo'
import { registerExport } from './commands/export'
import { registerJob } from './commands/job'
import { registerSecrets } from './commands/secrets'
import { registerConfig } from './commands/config'
import { registerMigrate } from './commands/migrate'
import { registerPluginManagement } from './commands/plugin'
import { registerPluginRun } from './commands/plugin-run'
import { registerPluginTry } from './commands/plugin-try'
import { registerQueue } from './commands/queue'
import { registerStart } from './commands/start'
import { registerTeam } from './commands/team'

/** Every command, registered and not yet parsed: main runs it, tests read its help. */
export function buildProgram(): Command {
  const program = new Command('plugin-server')
    .description('Run PostHog-compatible plugins over a stream of analytics events')
    .version(cliVersion(), '-V, --version', 'print the version')
    .option('--json', 'print results as JSON (the default when stdout is not a terminal)')
    .showHelpAfterError()
    // Commander echoes an unknown `--name=value` whole: a mistyped `--confg=apiKey=sk_live_…` printed the key.
    .configureOutput({ outputError: (text, write) => write(withoutOptionValues(text)) })
    .configureHelp({ showGlobalOptions: true })
    .hook('preAction', (root) => setJsonOutput(root.opts<{ json?: boolean }>().json === true))
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
  registerQueue(program)
  registerSecrets(program)
  registerDemo(program)
  return program
}

/** An error's text with the value of each option it quotes (`'--name=value'`) left out. */
export function withoutOptionValues(text: string): string {
  // To the last quote before commander's suggestion, or the end: a value may hold quotes and line breaks (a PEM key).
  return text.replace(/'(-{1,2}[^=' ]+)=[\s\S]*'(?=\s*(\(Did you mean [^\n]*\)\s*)?$)/, "'$1=…'")
}
