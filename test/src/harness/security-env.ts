import { parseSecretKeys } from '@plugin-server/core'
import { SecretBox } from '@plugin-server/secrets'

/**
 * Security settings every test process and role starts with, unless a test overrides them:
 * plugins fetch from HTTP servers the tests run on loopback, and secret config values need a key.
 * Tests of the policies themselves (test/src/security) override these.
 */
export const TEST_FETCH_ALLOWED_HOSTS = '127.0.0.0/8,::1,localhost'

/** A fixed test key (32 bytes of 0x42): never a real deployment's. */
export const TEST_SECRETS_KEYS = `test:${Buffer.alloc(32, 0x42).toString('base64')}`

export const TEST_SECURITY_ENV: Record<string, string> = {
  PLUGIN_FETCH_ALLOWED_HOSTS: TEST_FETCH_ALLOWED_HOSTS,
  PLUGIN_SECRETS_KEYS: TEST_SECRETS_KEYS,
}

/** The same list as PluginInstanceOptions takes it, for tests that build instances themselves. */
export const TEST_FETCH_ALLOWLIST: readonly string[] = TEST_FETCH_ALLOWED_HOSTS.split(',')

/**
 * The SecretBox management operations run in the test process get, built from the keys the test
 * process runs with (PLUGIN_SECRETS_KEYS, set by the global fixture), as a role builds one from its config.
 */
export function testSecretBox(keys: string | undefined = process.env.PLUGIN_SECRETS_KEYS): SecretBox {
  return new SecretBox(parseSecretKeys(keys))
}
