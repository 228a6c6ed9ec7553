import { prepareTemplate } from './databases'
import { stopAllProcesses } from './processes'
import { TEST_FETCH_ALLOWED_HOSTS, TEST_SECRETS_KEYS } from './security-env'
import { provideServices, TestServices } from './services'
import { scaleMochaTimeouts, timeScale } from './wait'

let services: TestServices | null = null

export async function mochaGlobalSetup(): Promise<void> {
  services = await provideServices()
  process.env.REDIS_URL = services.redisUrl
  process.env.DATABASE_URL = services.databaseUrl
  // Management operations run in the test process read the key from its environment, as the CLI
  // does; child processes a test spawns by hand inherit both settings (fixtures fetch from loopback).
  process.env.PLUGIN_SECRETS_KEYS ??= TEST_SECRETS_KEYS
  process.env.PLUGIN_FETCH_ALLOWED_HOSTS ??= TEST_FETCH_ALLOWED_HOSTS
  process.stdout.write(`  test services from ${services.source}: ${services.redisUrl} ${services.databaseUrl}\n`)
  await prepareTemplate()
}

export async function mochaGlobalTeardown(): Promise<void> {
  await stopAllProcesses()
  await services?.stop()
}

/** Root hooks: before the first test, every mocha timeout follows the machine's load (see wait.ts). */
export const mochaHooks = {
  beforeAll(this: Mocha.Context): void {
    const scale = timeScale()
    if (scale > 1) process.stdout.write(`  test timeouts stretched ×${scale.toFixed(1)} for this machine's load\n`)
    let root = this.test?.parent
    while (root?.parent) root = root.parent
    if (root) scaleMochaTimeouts(root as unknown as Parameters<typeof scaleMochaTimeouts>[0], scale)
  },
}
