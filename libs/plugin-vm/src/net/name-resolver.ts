import dns, { LookupAddress, Resolver } from 'dns'
import { isIP } from 'net'
import { HostsFile, hostKey } from './hosts-file'
import { ResolvConf, searchCandidates, type SearchRules } from './resolv-conf'

/**
 * How the names plugins connect to (and webhooks' hosts) are resolved. getaddrinfo (`dns.lookup`)
 * runs on one of libuv's four threads for as long as the name's DNS servers take and cannot be
 * cancelled: a name whose servers never answer held a thread 5–20 s per lookup, so two plugins
 * asking for such a name held up every team's lookups (lookup-slots.ts keeps the other two threads
 * for the worker's own work). DNS is asked with c-ares instead (`dns.Resolver`), on the event loop
 * and with a deadline: a name whose servers never answer costs a UDP socket and a timer, and fails
 * with EAI_AGAIN within about 6 s per server of resolv.conf (RESOLVE_TRIES tries, the first
 * RESOLVE_TIMEOUT_MS at most, the second twice that; c-ares waits less for a server that usually
 * answers fast), in the plugin that asked only.
 *
 * What getaddrinfo reads besides DNS is read here as it reads it: the hosts file first
 * (hosts-file.ts; its entries, such as Kubernetes' `hostAliases`, override DNS), then each name of
 * resolv.conf's search list in glibc's order (resolv-conf.ts; c-ares applies none, and Kubernetes
 * names a service `redis` or `redis.cache`). Both are read again when they change; the servers,
 * as c-ares reads them, once at start. PLUGIN_DNS_SERVERS' servers are asked for the name as it is:
 * the search list is the system servers'. A search that fails, fails with getaddrinfo's code
 * (lookupError), which plugins' retry logic tests. Only `localhost` and `*.localhost` still go to
 * getaddrinfo (nss-myhostname; the order it gives ::1), in lookup-slots as before: where
 * nsswitch has no myhostname, getaddrinfo asks DNS for `*.localhost` names, on a libuv thread.
 */
export const RESOLVE_TIMEOUT_MS = 2000
const RESOLVE_TRIES = 2

/** The system's servers (resolv.conf, as c-ares reads it when created), with its search list. */
let systemResolver = newResolver([])
/** PLUGIN_DNS_SERVERS', when set: asked for names as they are (NO_SEARCH). */
let configuredResolver: Resolver | undefined
/** The search list is the system servers': other servers get a name as it is (a trailing dot dropped). */
const NO_SEARCH: SearchRules = { search: [], ndots: 1 }
let hostsFile = new HostsFile('/etc/hosts')
let resolvConf = new ResolvConf('/etc/resolv.conf')

function newResolver(servers: readonly string[]): Resolver {
  const created = new Resolver({ timeout: RESOLVE_TIMEOUT_MS, tries: RESOLVE_TRIES })
  if (servers.length > 0) created.setServers(servers)
  return created
}

/** The DNS servers plugins' names are asked of (PLUGIN_DNS_SERVERS); none: the system's, with its search list. */
export function usePluginDnsServers(servers: readonly string[]): void {
  configuredResolver = servers.length > 0 ? newResolver(servers) : undefined
}

/** Where the system's files are and the servers its resolv.conf names (tests); /etc's, and c-ares' reading of it, otherwise. */
export function useSystemFiles(files: { hosts: string; resolvConf: string; nameservers?: readonly string[] }, recheckMs?: number): void {
  hostsFile = new HostsFile(files.hosts, recheckMs)
  resolvConf = new ResolvConf(files.resolvConf, recheckMs)
  systemResolver = newResolver(files.nameservers ?? [])
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
  const families = family === 4 ? [4] : family === 6 ? [6] : [4, 6]
  if (configuredResolver) return askInTurn(configuredResolver, searchCandidates(hostname, NO_SEARCH), families, hostname, callback)
  askInTurn(systemResolver, resolvConf.candidates(hostname), families, hostname, callback)
}

/** Answers after which glibc's search goes on to the next name: no address under this one, or its server failing (SERVFAIL). */
const NEXT_NAME = new Set<string | undefined>([dns.NOTFOUND, dns.NODATA, dns.SERVFAIL])

/** Each candidate in turn until one has addresses, going on only as glibc does (NEXT_NAME): a timeout or a refusal ends the search. */
function askInTurn(
  resolver: Resolver,
  candidates: string[],
  families: number[],
  hostname: string,
  callback: Addresses,
  serverFailure?: NodeJS.ErrnoException,
): void {
  const [candidate, ...rest] = candidates
  if (candidate === undefined) return callback(lookupError(hostname, serverFailure), [])
  askDns(resolver, candidate, families, (error, addresses) => {
    if (!error) return callback(null, addresses)
    if (!NEXT_NAME.has(error.code)) return callback(lookupError(hostname, error), [])
    askInTurn(resolver, rest, families, hostname, callback, serverFailure ?? (error.code === dns.SERVFAIL ? error : undefined))
  })
}

/** One name's addresses of `families`, asked together; when none has any, the failure that says most (one ending the search, then SERVFAIL). */
function askDns(
  resolver: Resolver,
  name: string,
  families: number[],
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
): void {
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
      callback(errors.find((e) => !NEXT_NAME.has(e.code)) ?? errors.find((e) => e.code === dns.SERVFAIL) ?? errors[0], [])
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

/** getaddrinfo's codes, with libuv's errno for each, as Node's `dns.lookup` reports them. */
const NOT_FOUND = { code: 'ENOTFOUND', errno: -3008 }
const TRY_AGAIN = { code: 'EAI_AGAIN', errno: -3001 }
const FAILED = { code: 'EAI_FAIL', errno: -3004 }
/** c-ares failures getaddrinfo reports as "no such name": no address under any name of the search, or a name that cannot be one. */
const NO_SUCH_NAME = new Set<string | undefined>([dns.NOTFOUND, dns.NODATA, dns.BADNAME])
/** c-ares failures getaddrinfo reports as "try again": the servers did not answer, could not be reached, or failed. */
const TRANSIENT = new Set<string | undefined>([dns.TIMEOUT, dns.CONNREFUSED, dns.SERVFAIL])

/**
 * How a search failed, as getaddrinfo says it (plugins' and SDKs' retry logic tests the code):
 * ENOTFOUND when no name had an address (or the name cannot be one), EAI_AGAIN when the servers did
 * not answer or failed, EAI_FAIL when they refused or answered nonsense. c-ares's own error is the
 * `cause`, and in the message.
 */
function lookupError(hostname: string, cause?: NodeJS.ErrnoException): NodeJS.ErrnoException {
  const kind = cause === undefined ? NOT_FOUND : TRANSIENT.has(cause.code) ? TRY_AGAIN : NO_SUCH_NAME.has(cause.code) ? NOT_FOUND : FAILED
  const why = cause === undefined ? '' : cause.code === dns.TIMEOUT ? ` (its DNS servers did not answer: ${cause.message})` : ` (${cause.message})`
  const error = Object.assign(new Error(`getaddrinfo ${kind.code} ${hostname}${why}`), { ...kind, syscall: 'getaddrinfo', hostname })
  if (cause !== undefined) error.cause = cause
  return error
}
