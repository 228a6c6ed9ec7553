import { Agent as HttpAgent } from 'http'
import { Agent as HttpsAgent } from 'https'
import { isIP, LookupFunction, Socket } from 'net'
import { AddressPolicy, normalizeHost } from './address-policy'
import { FetchRefusedError } from './fetch-refused-error'
import type { ClosedServices } from './fleet-services'
import { guardedLookup } from './guarded-lookup'

export const DEFAULT_MAX_REDIRECTS = 10

/**
 * What plugin fetches may reach: http(s) only, and addresses the policy accepts, checked on the
 * URL (IP literals never go through DNS) and again in the agents' lookup (names), on every hop.
 * One guard per allowlist is shared by every instance of a process so the agents are shared too.
 */
export class FetchGuard {
  readonly httpAgent: HttpAgent
  readonly httpsAgent: HttpsAgent

  constructor(
    readonly policy: AddressPolicy,
    readonly maxRedirects = DEFAULT_MAX_REDIRECTS,
  ) {
    const lookup = guardedLookup(policy)
    this.httpAgent = knowingPorts(new HttpAgent({ lookup }), lookup, policy.closed)
    this.httpsAgent = knowingPorts(new HttpsAgent({ lookup }), lookup, policy.closed)
  }

  /** Parses and checks a URL before any connection is made; throws FetchRefusedError. */
  check(raw: string, base?: URL): URL {
    let url: URL
    try {
      url = new URL(raw, base)
    } catch {
      throw new TypeError('fetch: only absolute http(s) URLs are supported')
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new FetchRefusedError(`the ${url.protocol} scheme is not allowed, only http: and https:`, false)
    const host = normalizeHost(url.hostname)
    // Before the policy, which no allowlist opens them past (fleet-services.ts).
    const fleet = this.policy.closed?.refusal(host, Number(url.port || (url.protocol === 'https:' ? 443 : 80)))
    if (fleet) throw new FetchRefusedError(fleet, false)
    if (isIP(host) !== 0) {
      const why = this.policy.refusal(host)
      if (why) throw new FetchRefusedError(why)
    }
    return url
  }

  agentFor(url: URL): HttpAgent | HttpsAgent {
    return url.protocol === 'https:' ? this.httpsAgent : this.httpAgent
  }
}

type CreateConnection = (options: Record<string, unknown>, callback?: unknown) => Socket

/**
 * The agent's connections resolve names with `lookup` less the fleet's services at the port being
 * connected to (a lookup alone is not told the port); without `closed`, the agent as it is. Host code
 * sends through these agents outside any socket guard scope (webhooks, posthog.api to a plugin's
 * host); inside one the guard does the same.
 */
function knowingPorts<A extends HttpAgent>(agent: A, lookup: LookupFunction, closed: ClosedServices | undefined): A {
  if (!closed) return agent
  const own = agent as unknown as { createConnection: CreateConnection }
  const create = own.createConnection
  own.createConnection = function (this: A, options, callback) {
    return create.call(this, { ...options, lookup: closed.lookup(lookup, Number(options.port)) }, callback)
  }
  return agent
}

/** Per set of closed services (none: OPEN), the guards by allowlist and redirect cap. */
const guards = new WeakMap<object, Map<string, FetchGuard>>()
const OPEN = {}

/**
 * The shared guard of an allowlist and redirect cap, refusing `closed` (the fleet's own services,
 * which the allowlist cannot open) when given.
 */
export function fetchGuard(allowedHosts: readonly string[] = [], maxRedirects = DEFAULT_MAX_REDIRECTS, closed?: ClosedServices): FetchGuard {
  let shared = guards.get(closed ?? OPEN)
  if (!shared) guards.set(closed ?? OPEN, (shared = new Map()))
  const key = `${maxRedirects}|${allowedHosts.join(',')}`
  let guard = shared.get(key)
  if (!guard) shared.set(key, (guard = new FetchGuard(new AddressPolicy(allowedHosts, closed), maxRedirects)))
  return guard
}
