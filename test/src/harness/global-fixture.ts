import { prepareTemplate } from './databases'
import { stopAllProcesses } from './processes'
import { provideServices, TestServices } from './services'

let services: TestServices | null = null

export async function mochaGlobalSetup(): Promise<void> {
  services = await provideServices()
  process.env.REDIS_URL = services.redisUrl
  process.env.DATABASE_URL = services.databaseUrl
  process.stdout.write(`  test services from ${services.source}: ${services.redisUrl} ${services.databaseUrl}\n`)
  await prepareTemplate()
}

export async function mochaGlobalTeardown(): Promise<void> {
  await stopAllProcesses()
  await services?.stop()
}
