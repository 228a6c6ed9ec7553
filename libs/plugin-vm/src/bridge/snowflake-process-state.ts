import { AsyncLocalStorage } from 'async_hooks'
import { dirname, join } from 'path'

type Warn = (message: string) => void

/** The plugin on whose behalf the SDK is working: its calls and everything they start asynchronously. */
const channel = new AsyncLocalStorage<Warn>()

export function withSdkLog<T>(warn: Warn, fn: () => T): T {
  return channel.run(warn, fn)
}

function toPlugin(level: string): (message: string) => void {
  return (message) => channel.getStore()?.(`snowflake-sdk ${level}: ${message}`)
}

/** What the SDK's logger calls per level: warnings and errors go to the plugin the work is for, the rest nowhere. */
const pluginLogger = {
  error: toPlugin('error'),
  warn: toPlugin('warning'),
  info: () => undefined,
  debug: () => undefined,
  trace: () => undefined,
}

interface SnowflakeLoggerModule {
  getInstance(): { configure: (options: unknown) => void }
}

interface SnowflakeParametersModule {
  update(parameters: unknown): void
}

/**
 * The SDK with its process-wide state fixed once. Its logger by default writes snowflake.log in the
 * worker's directory and copies every line to stdout, and "easy logging" would reconfigure it from
 * a client config file found on the server: here it logs only to plugins, and stays that way. Its
 * parameters (keep-alive heartbeats and their interval, integers as BigInt, multi-statement count,
 * the X-Snowflake-Service header, OCSP off for stage endpoints, …) are one set for the process,
 * which it overwrites with whatever a server's login or query answer lists: a plugin pointing it at
 * a server of its own would set them for every plugin's connections in the worker. They stay at the
 * SDK's defaults; what a statement asks for itself (its own `parameters`) still goes to its server.
 */
export function loadSnowflakeSdk<S>(): S {
  // Its AWS SDK v3 dependency would print a Node version notice on the worker's stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const sdk = require('snowflake-sdk') as S & { configure(options: Record<string, unknown>): void }
  sdk.configure({ logLevel: 'WARN', customLogger: pluginLogger })
  const lib = join(dirname(require.resolve('snowflake-sdk')), 'lib')
  const logger = require(join(lib, 'logger')) as SnowflakeLoggerModule
  logger.getInstance().configure = () => undefined
  const parameters = require(join(lib, 'parameters')) as SnowflakeParametersModule
  parameters.update = () => undefined
  // Also one value for the process, set by any connection's `representNullAsStringNull` (the facade warns).
  const dataTypes = require(join(lib, 'connection', 'result', 'data_types')) as { setIsRepresentNullAsStringNull(value: boolean): void }
  dataTypes.setIsRepresentNullAsStringNull = () => undefined
  return sdk
}
