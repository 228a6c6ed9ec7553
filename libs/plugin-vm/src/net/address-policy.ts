import { BlockList, isIP } from 'net'
import { blockedRange } from './blocked-ranges'
import type { ClosedServices } from './fleet-services'
import { embeddedIpv4, withoutZone } from './ip-address'

/** The environment variable operators set; named in every refusal so the fix is one search away. */
export const ALLOWLIST_VARIABLE = 'PLUGIN_FETCH_ALLOWED_HOSTS'

const HOSTNAME = /^(\*\.|\.)?([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/

function family(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 4 ? 'ipv4' : 'ipv6'
}

/** Lower case, no brackets, no trailing dot: the form hostnames are compared in. */
export function normalizeHost(host: string): string {
  return host
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase()
}

/**
 * Which addresses plugin code may connect to. By default every public unicast address and nothing
 * else; `allowedHosts` entries (`10.1.0.0/16`, `10.1.2.3`, `fd00::/8`, `db.internal`,
 * `*.corp.example`) open private addresses or names an operator trusts. An allowed name is allowed
 * whatever it resolves to: the operator vouches for its DNS. `closed`: the fleet's own services,
 * which no entry opens (fleet-services.ts; the socket guard and FetchGuard check them first).
 */
export class AddressPolicy {
  private readonly allowedNetworks = new BlockList()
  private readonly exactHosts = new Set<string>()
  private readonly hostSuffixes: string[] = []

  constructor(
    readonly allowedHosts: readonly string[] = [],
    readonly closed?: ClosedServices,
  ) {
    for (const raw of allowedHosts) this.add(raw.trim())
  }

  /** Why connecting to this IP address is refused, or null when it may be reached. */
  refusal(address: string): string | null {
    const ip = withoutZone(address)
    if (isIP(ip) === 0) return `"${address}" is not an IP address`
    if (this.allowedNetworks.check(ip, family(ip))) return null
    const carried = family(ip) === 'ipv6' ? embeddedIpv4(ip) : null
    if (carried) {
      if (this.allowedNetworks.check(carried, 'ipv4')) return null
      const why = blockedRange(carried, 'ipv4')
      if (why) return `${address} carries the ${why} address ${carried}`
    }
    const why = blockedRange(ip, family(ip))
    return why ? `${address} is a ${why} address` : null
  }

  /** Whether the operator allowed this hostname by name (then any address it resolves to is fine). */
  allowsName(hostname: string): boolean {
    const host = normalizeHost(hostname)
    return this.exactHosts.has(host) || this.hostSuffixes.some((suffix) => host.endsWith(suffix))
  }

  private add(entry: string): void {
    if (entry === '') return
    const slash = entry.indexOf('/')
    if (slash > 0) {
      const network = normalizeHost(entry.slice(0, slash))
      const prefix = Number(entry.slice(slash + 1))
      const kind = isIP(network)
      if (kind === 0 || !/^\d+$/.test(entry.slice(slash + 1)) || prefix > (kind === 4 ? 32 : 128)) {
        throw new Error(`${ALLOWLIST_VARIABLE}: "${entry}" is not a CIDR such as 10.0.0.0/8 or fd00::/8`)
      }
      this.allowedNetworks.addSubnet(network, prefix, family(network))
      return
    }
    const host = normalizeHost(entry)
    if (isIP(host) !== 0) return this.allowedNetworks.addAddress(host, family(host))
    if (!HOSTNAME.test(host)) throw new Error(`${ALLOWLIST_VARIABLE}: "${entry}" is not a hostname, IP address or CIDR`)
    if (host.startsWith('*.') || host.startsWith('.')) this.hostSuffixes.push(host.slice(host.indexOf('.')))
    else this.exactHosts.add(host)
  }
}

/** `PLUGIN_FETCH_ALLOWED_HOSTS` as a list (comma or whitespace separated); throws naming a bad entry. */
export function parseAllowedHosts(raw: string | undefined): string[] {
  const entries = (raw ?? '').split(/[\s,]+/).filter((e) => e !== '')
  new AddressPolicy(entries)
  return entries
}
