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
