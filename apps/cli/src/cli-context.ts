import { Config, ConfigError, createLogger, createPool, loadConfig, Logger, Pool } from '@plugin-server/core'

/** Management commands print results on stdout and logs on stderr, so output stays pipeable. */
export function cliConfig(): Config {
  try {
    return loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message)
    throw err
  }
}

export function cliLogger(config: Config): Logger {
  return createLogger({ ...config, logFormat: process.stderr.isTTY ? 'pretty' : config.logFormat }).child({ cli: true })
}

export async function withPool<T>(fn: (pool: Pool, config: Config) => Promise<T>): Promise<T> {
  const config = cliConfig()
  const pool = createPool(config.databaseUrl, 2, cliLogger(config))
  try {
    return await fn(pool, config)
  } finally {
    await pool.end()
  }
}

export function fail(message: string): never {
  process.stderr.write(`plugin-server: ${message}\n`)
  process.exit(1)
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}
