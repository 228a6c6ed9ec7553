/**
 * `plugin-server export …` as a child process of its own (until the lead wires registerExport into
 * apps/cli/src/main.ts): the historical export test SIGKILLs it mid-run.
 */
import { Command } from 'commander'
import { registerExport } from '@plugin-server/cli/dist/commands/export'

const program = new Command('plugin-server')
registerExport(program)
program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`plugin-server: ${err.message}\n`)
  process.exit(1)
})
