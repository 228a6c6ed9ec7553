import { join } from 'path'
import { eventually } from '../harness/fleet'
import { TEST_FETCH_ALLOWLIST } from '../harness/security-env'
import {
  IsolatedVmPluginVm,
  LocalHost,
  LocalHostOptions,
  PluginInstance,
  PluginInstanceOptions,
  readPlugin,
  sourceFromFiles,
  PluginSource,
} from '@plugin-server/plugin-vm'

/** test/dist/plugin-vm → test/fixtures/plugins */
export const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'plugins')

export const vm = new IsolatedVmPluginVm()

export function fixture(name: string): string {
  return join(FIXTURES, name)
}

export async function sourceFromCode(code: string, file = 'index.ts', name = 'inline'): Promise<PluginSource> {
  return sourceFromFiles(
    new Map([
      ['plugin.json', Buffer.from(JSON.stringify({ name, main: file }))],
      [file, Buffer.from(code)],
    ]),
  )
}

export async function loadCode(code: string, hostOptions: LocalHostOptions = {}, options: Partial<PluginInstanceOptions> = {}) {
  const host = new LocalHost(hostOptions)
  const instance = await vm.load(await sourceFromCode(code), host, { configId: 1, fetchAllowedHosts: TEST_FETCH_ALLOWLIST, ...options })
  return { host, instance }
}

export async function loadFixture(name: string, hostOptions: LocalHostOptions = {}, options: Partial<PluginInstanceOptions> = {}) {
  const host = new LocalHost(hostOptions)
  const instance: PluginInstance = await vm.load(await readPlugin(fixture(name)), host, { configId: 7, fetchAllowedHosts: TEST_FETCH_ALLOWLIST, ...options })
  return { host, instance }
}

export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected the promise to reject')
}

/** Waits until the instance's isolate is gone (a limit breach in the background disposes it). */
export async function disposal(instance: PluginInstance, timeoutMs = 10_000): Promise<void> {
  await eventually(
    'instance disposed',
    async () => instance.disposed,
    (d) => d,
    timeoutMs,
  )
}
