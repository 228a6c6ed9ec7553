import dns, { LookupAddress, Resolver } from 'dns'
import { isIP } from 'net'
import { HostsFile, hostKey } from './hosts-file'

/**
 * How the names plugins connect to (and webhooks' hosts) are resolved. getaddrinfo (`dns.lookup`)
 * runs on one of libuv's four threads for as long as the name's DNS servers take and cannot be
 * cancelled: a name whose servers never answer held a thread 5–20 s per lookup, so two plugins
 * asking for such a name held up every team's lookups (lookup-slots.ts keeps the other two threads
 * for the worker's own work). DNS is asked with c-ares instead (`dns.Resolver`), on the event loop
 * and with a deadline: a name whose servers never answer costs a UDP socket and a timer, and fails
 * with ETIMEOUT within about 6 s per server of resolv.conf (RESOLVE_TRIES tries, the first
 * RESOLVE_TIMEOUT_MS at most, the second twice that; c-ares waits less for a server that usually
 * answers fast), in the plugin that asked only.
 *
 * The hosts file is read first, as getaddrinfo reads it before DNS (hosts-file.ts): an entry there,
 * such as Kubernetes' `hostAliases`, overrides what DNS has for the name. getaddrinfo still answers
 * what DNS cannot: `localhost` and `*.localhost`, a name without a dot (the search domains of
 * resolv.conf, e.g. a Kubernetes service name) and a name DNS has no address for or refuses (c-ares
 * applies no search domain, so `service.namespace` under Kubernetes' `ndots:5` is one; other NSS
 * sources). Those go through lookup-slots as before. A name's own DNS server can still answer "no
 * address" to c-ares and then not answer getaddrinfo: that holds a lookup slot, as every lookup did
 * before (one per team at a time, half of libuv's threads in all).
 */
export const RESOLVE_TIMEOUT_MS = 2000
const RESOLVE_TRIES = 2
/** Answers after which getaddrinfo is asked, at once: DNS has no address for the name (or refused to be asked), which a search domain may have. */
const NO_ADDRESS = new Set<string | undefined>([dns.NOTFOUND, dns.NODATA, dns.CONNREFUSED, dns.REFUSED])

let resolver = newResolver([])
let hostsFile = new HostsFile('/etc/hosts')

function newResolver(servers: readonly string[]): Resolver {
  const created = new Resolver({ timeout: RESOLVE_TIMEOUT_MS, tries: RESOLVE_TRIES })
  if (servers.length > 0) created.setServers(servers)
  return created
}

/** The DNS servers plugins' names are asked of (PLUGIN_DNS_SERVERS); none: the system's (resolv.conf). */
export function usePluginDnsServers(servers: readonly string[]): void {
  resolver = newResolver(servers)
}

/** Where the hosts file is (tests); /etc/hosts otherwise. */
export function useHostsFile(path: string, recheckMs?: number): void {
  hostsFile = new HostsFile(path, recheckMs)
}

type Addresses = (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void
/** getaddrinfo, as the caller runs it (in a lookup slot, or not). */
export type SystemLookup = (hostname: string, family: number, callback: Addresses) => void

/**
 * The addresses of `hostname` of `family` (4, 6, or 0 for both: the hosts file's in its order, DNS's
 * IPv4 first); from `system` for what neither answers.
 */
export function resolveName(hostname: string, family: number, system: SystemLookup, callback: Addresses): void {
  // Not a name: getaddrinfo's own argument checks say what is wrong, as before.
  if (typeof hostname !== 'string') return system(hostname, family, callback)
  const literal = isIP(hostname)
  // An address is its own answer (an SDK may pass one to a lookup); one of the other family, none.
  if (literal !== 0) return process.nextTick(callback, null, family === 0 || family === literal ? [{ address: hostname, family: literal }] : [])
  const name = hostKey(hostname)
  const local = name === 'localhost' || name.endsWith('.localhost')
  // localhost is getaddrinfo's whatever the hosts file says (nss-myhostname; the order it gives ::1).
  const listed = local ? undefined : hostsFile.addresses(name, family)
  if (listed) return process.nextTick(callback, null, listed)
  if (local || !name.includes('.')) return system(hostname, family, callback)
  const families = family === 4 ? [4] : family === 6 ? [6] : [4, 6]
  const found: LookupAddress[][] = []
  const errors: NodeJS.ErrnoException[] = []
  let left = families.length
  families.forEach((f, i) => {
    const answer = (error: NodeJS.ErrnoException | null, addresses: string[]): void => {
      if (error) errors.push(error)
      else found[i] = addresses.map((address) => ({ address, family: f }))
      if (--left > 0) return
      const all = found.flat()
      if (all.length > 0) return callback(null, all)
      if (errors.every((e) => NO_ADDRESS.has(e.code))) return system(hostname, family, callback)
      const failure = errors.find((e) => !NO_ADDRESS.has(e.code)) ?? errors[0]
      if (failure.code === dns.TIMEOUT) failure.message += ' (its DNS servers did not answer)'
      callback(failure, [])
    }
    try {
      if (f === 4) resolver.resolve4(hostname, answer)
      else resolver.resolve6(hostname, answer)
    } catch (error) {
      // c-ares refuses a name it cannot send (bad characters, too long) at once: as an answer, asynchronously.
      process.nextTick(answer, error as NodeJS.ErrnoException, [])
    }
  })
}
