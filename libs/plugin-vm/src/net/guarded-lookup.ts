import { lookup as dnsLookup, LookupAddress } from 'dns'
import type { LookupFunction } from 'net'
import { AddressPolicy } from './address-policy'
import { FetchRefusedError } from './fetch-refused-error'

/**
 * A `lookup` for sockets and http(s) Agents that resolves the name and hands the socket only
 * addresses the policy accepts. The socket connects to exactly what was checked, so a DNS answer
 * that changes between a check and the connect (rebinding) cannot slip a private address in.
 */
export function guardedLookup(policy: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, resolved) => {
      if (error) return callback(error, '', 0)
      const addresses = resolved as LookupAddress[]
      const allowed = policy.allowsName(hostname) ? addresses : addresses.filter((a) => policy.refusal(a.address) === null)
      if (allowed.length === 0) {
        const why = addresses
          .map((a) => policy.refusal(a.address))
          .filter(Boolean)
          .join('; ')
        return callback(new FetchRefusedError(`host "${hostname}" resolves only to refused addresses (${why || 'none'})`), '', 0)
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed)
      callback(null, allowed[0].address, allowed[0].family)
    })
  }
}
