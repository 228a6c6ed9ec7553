import { Command } from 'commander'
import { registerSecrets } from '@plugin-server/cli/dist/commands/secrets'

// The `secrets` command group exactly as main.ts registers it, runnable before main.ts wires it in.
const program = new Command('plugin-server')
registerSecrets(program)
program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`plugin-server: ${err.message}\n`)
  process.exit(1)
})
