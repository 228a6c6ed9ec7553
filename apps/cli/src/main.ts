import { Command } from 'commander'
import { registerDemo } from './commands/demo'
import { registerMigrate } from './commands/migrate'
import { registerStart } from './commands/start'
import { registerTeam } from './commands/team'

const program = new Command('plugin-server')
  .description('Run PostHog-compatible plugins over a stream of analytics events')
  .showHelpAfterError()
registerStart(program)
registerMigrate(program)
registerTeam(program)
registerDemo(program)

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`plugin-server: ${err.message}\n`)
  process.exit(1)
})
