import { Command } from 'commander'
import { registerJob } from '@plugin-server/cli/dist/commands/job'

// The `job` command group exactly as main.ts registers it, runnable before main.ts wires it in.
const program = new Command('plugin-server')
registerJob(program)
program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`plugin-server: ${err.message}\n`)
  process.exit(1)
})
