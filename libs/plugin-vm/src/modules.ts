/** Modules a plugin may import. Shared by the compiler (to reject unknown imports) and the sandbox. */

/** Implemented inside the isolate (pure JS, or thin shims over synchronous host calls). */
export const SANDBOX_MODULES = [
  '@posthog/plugin-scaffold',
  '@posthog/plugin-contrib',
  'crypto',
  'url',
  'zlib',
  'node-fetch',
  'generic-pool',
  'stream',
  'buffer',
  'events',
  'jsonwebtoken',
] as const

/** zlib's one-shot methods the sandbox offers, each run by the host (the sandbox's shim and the host's work check the same list). */
export const ZLIB_METHODS = ['gzip', 'gunzip', 'deflate', 'inflate', 'deflateRaw', 'inflateRaw', 'unzip', 'brotliCompress', 'brotliDecompress'] as const

/** Those whose output a small input does not bound: the host decides where they run once it sees the output. */
export const ZLIB_DECOMPRESS_METHODS: readonly string[] = ['gunzip', 'inflate', 'inflateRaw', 'unzip', 'brotliDecompress']

/** Node SDKs that cannot run in an isolate; host-side instances behind proxies. */
export const BRIDGED_MODULES = ['pg', 'snowflake-sdk', 'aws-sdk', '@google-cloud/bigquery', '@google-cloud/pubsub', '@google-cloud/storage'] as const

/** `node:crypto` → `crypto`; `aws-sdk/clients/s3` stays as is (bridged by prefix). */
export function normalizeModuleName(name: string): string {
  return name.startsWith('node:') ? name.slice(5) : name
}

export function bridgedRoot(name: string): string | undefined {
  return BRIDGED_MODULES.find((root) => name === root || name.startsWith(root + '/'))
}

export function isKnownModule(name: string): boolean {
  const normalized = normalizeModuleName(name)
  return (SANDBOX_MODULES as readonly string[]).includes(normalized) || bridgedRoot(normalized) !== undefined
}
