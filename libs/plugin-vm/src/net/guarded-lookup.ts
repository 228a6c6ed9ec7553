import dns, { LookupAddress } from 'dns'
import type { LookupFunction } from 'net'
import { AddressPolicy } from './address-policy'
import { FetchRefusedError } from './fetch-refused-error'
import { resolveName, SystemLookup } from './name-resolver'

/** getaddrinfo, for `localhost` (name-resolver.ts). Read from `dns` at each call, as Node's own lookup is. */
export const getaddrinfo: SystemLookup = (hostname, family, callback) =>
  dns.lookup(hostname, { family, all: true }, (error, addresses) => callback(error, (addresses ?? []) as LookupAddress[]))

/**
 * A `lookup` for sockets and http(s) Agents that resolves the name (name-resolver.ts; `system` runs
 * getaddrinfo, in a lookup slot for plugins' sockets) and hands the socket only addresses the policy
 * accepts. The socket connects to exactly what was checked, so a DNS answer that changes between a
 * check and the connect (rebinding) cannot slip a private address in.
 */
export function guardedLookup(policy: AddressPolicy, system: SystemLookup = getaddrinfo): LookupFunction {
  return (hostname, options, callback) => {
    resolveName(hostname, familyOf(options), system, (error, addresses) => {
      if (error) return callback(error, '', 0)
      const refusal = policy.allowsName(hostname) ? () => null : (address: string) => policy.refusal(address)
      answerOpen(hostname, options, callback, addresses, refusal)
    })
  }
}

/**
 * Answers a lookup with the addresses `refusal` lets through, in the form the caller asked for (all,
 * or the first); with none, FetchRefusedError saying why each was refused. `hint`: whether an
 * allowlist entry could open them (the fleet's own services: no).
 */
export function answerOpen(
  hostname: string,
  options: unknown,
  callback: Parameters<LookupFunction>[2],
  addresses: LookupAddress[],
  refusal: (address: string) => string | null,
  hint = true,
): void {
  const open = addresses.filter((a) => refusal(a.address) === null)
  if (open.length === 0) {
    const why = addresses
      .map((a) => refusal(a.address))
      .filter(Boolean)
      .join('; ')
    return callback(new FetchRefusedError(`host "${hostname}" resolves only to refused addresses (${why || 'none'})`, hint), '', 0)
  }
  if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, open)
  callback(null, open[0].address, open[0].family)
}

/** 4, 6, or 0 for either, however the caller said it (`family: 4`, `'IPv6'`, none). */
function familyOf(options: unknown): 0 | 4 | 6 {
  const family = (options as { family?: unknown } | undefined)?.family
  if (family === 4 || family === 'IPv4') return 4
  if (family === 6 || family === 'IPv6') return 6
  return 0
}
