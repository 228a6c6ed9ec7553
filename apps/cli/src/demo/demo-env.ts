import fs from 'node:fs'
import path from 'node:path'

/** What another shell needs to run management commands (`config list`, `plugin logs`, …) against the demo's fleet. */
export interface DemoEnv {
  REDIS_URL: string
  DATABASE_URL: string
  PLUGIN_SECRETS_KEYS: string
  ADMIN_API_TOKEN: string
  /** Only when the demo itself was given one. */
  QUEUE_PREFIX?: string
}

/** `export NAME='value'` lines a POSIX shell can source; single quotes keep every character as is. */
export function shellExports(env: DemoEnv): string[] {
  return Object.entries(env)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .map(([name, value]) => `export ${name}='${value.replace(/'/g, `'\\''`)}'`)
}

/**
 * Writes the exports to `file`, readable by this user only: it holds the secrets key and the
 * operator token. An existing file is narrowed to 0600 before it is overwritten.
 */
export function writeDemoEnvFile(file: string, env: DemoEnv): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
  if (fs.existsSync(file)) fs.chmodSync(file, 0o600)
  fs.writeFileSync(file, `# plugin-server demo, started ${new Date().toISOString()}: source this file in another shell\n${shellExports(env).join('\n')}\n`, {
    mode: 0o600,
  })
}

/** Removes the file if it still holds this run's values (another demo may have replaced it since). */
export function removeDemoEnvFile(file: string, env: DemoEnv): void {
  try {
    if (fs.readFileSync(file, 'utf8').includes(shellExports(env).join('\n'))) fs.rmSync(file)
  } catch {
    // already gone
  }
}
