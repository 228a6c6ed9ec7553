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

/**
 * The SDK with its process-wide logger fixed once: by default it writes snowflake.log in the
 * worker's directory and copies every line to stdout, and "easy logging" would reconfigure it from
 * a client config file found on the server. Here it logs only to plugins, and stays that way.
 */
export function loadSnowflakeSdk<S>(): S {
  // Its AWS SDK v3 dependency would print a Node version notice on the worker's stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const sdk = require('snowflake-sdk') as S & { configure(options: Record<string, unknown>): void }
  sdk.configure({ logLevel: 'WARN', customLogger: pluginLogger })
  const logger = require(join(dirname(require.resolve('snowflake-sdk')), 'lib', 'logger')) as SnowflakeLoggerModule
  logger.getInstance().configure = () => undefined
  return sdk
}
