import { Agent as HttpAgent } from 'http'
import { Agent as HttpsAgent } from 'https'
import { isIP } from 'net'
import { AddressPolicy, normalizeHost } from './address-policy'
import { FetchRefusedError } from './fetch-refused-error'
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
    this.httpAgent = new HttpAgent({ lookup })
    this.httpsAgent = new HttpsAgent({ lookup })
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

const guards = new Map<string, FetchGuard>()

/** The shared guard of an allowlist (and redirect cap). */
export function fetchGuard(allowedHosts: readonly string[] = [], maxRedirects = DEFAULT_MAX_REDIRECTS): FetchGuard {
  const key = `${maxRedirects}|${allowedHosts.join(',')}`
  let guard = guards.get(key)
  if (!guard) guards.set(key, (guard = new FetchGuard(new AddressPolicy(allowedHosts), maxRedirects)))
  return guard
}
