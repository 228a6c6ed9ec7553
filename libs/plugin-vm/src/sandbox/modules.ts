import { bridgedRoot, normalizeModuleName, SANDBOX_MODULES } from '../modules'
import { requireBridged } from './bridge'
import { createBuffer } from './contrib'
import { createCrypto } from './crypto'
import { RetryError } from './errors'
import { fetch, Headers, Response } from './fetch'
import { FetchError } from './fetch-error'
import { createJwt } from './jwt'
import { argsSize, hostWork } from './host-link'
import { lazyModule } from './lazy-modules'
import { URL } from './url-class'
import { URLSearchParams } from './url-search-params'
import { createZlib } from './zlib'

/** Node's url functions run on the host; a long input (40 MB: a second of the host's thread) in a worker thread. */
export function urlWork(op: string, args: unknown[]): unknown {
  return hostWork('url', [op, ...args], argsSize(args))
}

/** Module factories run on first require so an isolate only pays for what its plugin uses. */
const factories: Record<(typeof SANDBOX_MODULES)[number], () => unknown> = {
  '@posthog/plugin-scaffold': () => ({ RetryError, MetricsOperation: { Sum: 'sum', Max: 'max', Min: 'min' } }),
  '@posthog/plugin-contrib': () => ({ createBuffer }),
  crypto: createCrypto,
  url: () => ({
    URL,
    URLSearchParams,
    parse: (input: string, parseQuery?: boolean) => urlWork('parse', [String(input), Boolean(parseQuery)]),
    format: (input: unknown) => (input instanceof URL ? input.href : urlWork('format', [input])),
    resolve: (from: string, to: string) => urlWork('resolve', [String(from), String(to)]),
    domainToASCII: (domain: string) => urlWork('domainToASCII', [String(domain)]),
  }),
  zlib: createZlib,
  'node-fetch': () => Object.assign(fetch, { default: fetch, Headers, Response, FetchError }),
  // Pure-JS packages kept out of the runtime's snapshot (vm/runtime-bundle.ts), evaluated on first use.
  'generic-pool': () => lazyModule('generic-pool'),
  stream: () => lazyModule('stream'),
  buffer: () => lazyModule('buffer'),
  // Bundled into the runtime.
  events: () => require('events'),
  jsonwebtoken: createJwt,
}

const cache = new Map<string, unknown>()

export function sandboxRequire(request: unknown): unknown {
  const name = normalizeModuleName(String(request))
  if (cache.has(name)) return cache.get(name)
  let value: unknown
  if (name in factories) value = factories[name as keyof typeof factories]()
  else if (bridgedRoot(name) !== undefined) value = requireBridged(name)
  else throw new Error(`module "${name}" is not available to plugins`)
  cache.set(name, value)
  return value
}
