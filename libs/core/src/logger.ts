import pino, { Logger } from 'pino'
import pretty from 'pino-pretty'
import type { Config } from './config'

export type { Logger }

/** One root logger per process; roles and plugins derive children carrying their ids. */
export function createLogger(config: Pick<Config, 'logLevel' | 'logFormat'>, bindings: Record<string, unknown> = {}): Logger {
  const options = { level: config.logLevel, base: { pid: process.pid, ...bindings } }
  if (config.logFormat === 'pretty') {
    return pino(options, pretty({ colorize: process.stdout.isTTY, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }))
  }
  return pino(options)
}
