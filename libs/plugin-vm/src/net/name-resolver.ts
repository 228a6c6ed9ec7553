import dns, { LookupAddress, Resolver } from 'dns'
import { isIP } from 'net'
import { HostsFile, hostKey } from './hosts-file'
import { ResolvConf } from './resolv-conf'

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
 * What getaddrinfo reads besides DNS is read here as it reads it: the hosts file first
 * (hosts-file.ts; its entries, such as Kubernetes' `hostAliases`, override DNS), then each name of
 * resolv.conf's search list in its order (resolv-conf.ts; c-ares applies none, and Kubernetes names
 * a service `redis` or `redis.cache`). A name found nowhere fails with getaddrinfo's ENOTFOUND.
 * Only `localhost` and `*.localhost` still go to getaddrinfo (nss-myhostname; the order it gives
 * ::1), in lookup-slots as before; no name a plugin picks can hold a libuv thread.
 */
export const RESOLVE_TIMEOUT_MS = 2000
const RESOLVE_TRIES = 2
/** Answers that send the search on to the next name: DNS has no address for this one. */
const NO_ADDRESS = new Set<string | undefined>([dns.NOTFOUND, dns.NODATA])

let resolver = newResolver([])
let hostsFile = new HostsFile('/etc/hosts')
let resolvConf = new ResolvConf('/etc/resolv.conf')

function newResolver(servers: readonly string[]): Resolver {
  const created = new Resolver({ timeout: RESOLVE_TIMEOUT_MS, tries: RESOLVE_TRIES })
  if (servers.length > 0) created.setServers(servers)
  return created
}

/** The DNS servers plugins' names are asked of (PLUGIN_DNS_SERVERS); none: the system's (resolv.conf). */
export function usePluginDnsServers(servers: readonly string[]): void {
  resolver = newResolver(servers)
}

/** Where the hosts file and resolv.conf are (tests); /etc's otherwise. */
export function useSystemFiles(files: { hosts: string; resolvConf: string }, recheckMs?: number): void {
  hostsFile = new HostsFile(files.hosts, recheckMs)
  resolvConf = new ResolvConf(files.resolvConf, recheckMs)
}

type Addresses = (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void
/** getaddrinfo, as the caller runs it (in a lookup slot, or not). */
export type SystemLookup = (hostname: string, family: number, callback: Addresses) => void

/**
 * The addresses of `hostname` of `family` (4, 6, or 0 for both: the hosts file's in its order, DNS's
 * IPv4 first); from `system` for `localhost`.
 */
export function resolveName(hostname: string, family: number, system: SystemLookup, callback: Addresses): void {
  // Not a name: getaddrinfo's own argument checks say what is wrong, as before.
  if (typeof hostname !== 'string') return system(hostname, family, callback)
  const literal = isIP(hostname)
  // An address is its own answer (an SDK may pass one to a lookup); one of the other family, none.
  if (literal !== 0) return process.nextTick(callback, null, family === 0 || family === literal ? [{ address: hostname, family: literal }] : [])
  const name = hostKey(hostname)
  if (name === 'localhost' || name.endsWith('.localhost')) return system(hostname, family, callback)
  const listed = hostsFile.addresses(name, family)
  if (listed) return process.nextTick(callback, null, listed)
  askInTurn(resolvConf.candidates(hostname), family === 4 ? [4] : family === 6 ? [6] : [4, 6], hostname, callback, [])
}

/** Each candidate in turn until one has addresses; a timeout ends the search (its servers are not answering), other failures go on. */
function askInTurn(candidates: string[], families: number[], hostname: string, callback: Addresses, failures: NodeJS.ErrnoException[]): void {
  const [candidate, ...rest] = candidates
  if (candidate === undefined) return callback(failures.find((e) => !NO_ADDRESS.has(e.code)) ?? notFound(hostname), [])
  askDns(candidate, families, (error, addresses) => {
    if (!error) return callback(null, addresses)
    if (error.code !== dns.TIMEOUT) return askInTurn(rest, families, hostname, callback, [...failures, error])
    error.message += ' (its DNS servers did not answer)'
    callback(error, [])
  })
}

/** One name's addresses of `families`, asked together; its failure when none has any (a timeout before any other). */
function askDns(name: string, families: number[], callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void): void {
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
      callback(errors.find((e) => e.code === dns.TIMEOUT) ?? errors.find((e) => !NO_ADDRESS.has(e.code)) ?? errors[0], [])
    }
    try {
      if (f === 4) resolver.resolve4(name, answer)
      else resolver.resolve6(name, answer)
    } catch (error) {
      // c-ares refuses a name it cannot send (bad characters, too long) at once: as an answer, asynchronously.
      process.nextTick(answer, error as NodeJS.ErrnoException, [])
    }
  })
}

/** getaddrinfo's failure for a name no source has, which plugins and SDKs test for by its code. */
function notFound(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname })
}
