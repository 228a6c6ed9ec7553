import './utc'
import pino from 'pino'
import { installFatalHandlers } from '@plugin-server/core'
import { printError } from './output'
import { buildProgram } from './program'
import { exitQuietlyWhenStdoutCloses } from './stdout-closed'

// Before anything runs: a crash in any command is logged and exits promptly (`start` swaps in the role's logger).
installFatalHandlers(pino({ base: { pid: process.pid, cli: true } }, pino.destination({ dest: 2, sync: true })))
exitQuietlyWhenStdoutCloses()

buildProgram()
  .parseAsync(process.argv)
  .catch((err: Error) => {
    printError(`plugin-server: ${err.message}`)
    process.exit(1)
  })
