import type { LookupAddress } from 'dns'
import os from 'os'
import { isIP, LookupFunction } from 'net'
import { normalizeHost } from './address-policy'
import { answerOpen, getaddrinfo } from './guarded-lookup'
import { hostKey } from './hosts-file'
import { embeddedIpv4, ipv6Bytes, withoutZone } from './ip-address'
import { resolveName, type SystemLookup } from './name-resolver'

/**
 * A service of the fleet's own that no plugin may connect to, whatever PLUGIN_FETCH_ALLOWED_HOSTS
 * allows: the Redis holding every team's queued events and caches. Redis runs each line it reads as
 * a command, so a plugin reaching its port writes to it without a Redis client (a fetch with the
 * method `SET` stores a key before Redis sees `Host:` and hangs up).
 */
export interface FleetService {
  /** Its URL's host: a name or an IP address. */
  host: string
  port: number
  /** Names it in refusals: `the fleet's own Redis (REDIS_URL)`. */
  name: string
  /**
   * Where the service says it is (`address:port`, `[v6]:port`), asked at each refresh: Redis's
   * `CLIENT INFO` `laddr` is its own address even behind a proxy or a Kubernetes Service's cluster
   * IP, which is all its name resolves to. Each answer stays closed, at its own port.
   */
  discover?: () => Promise<readonly string[]>
}

/** How often a service's name is resolved again (a failover may move it: new addresses are added), and this host's addresses read again. */
export const FLEET_SERVICES_RECHECK_MS = 30_000

interface Entry {
  service: FleetService
  key: string
  /**
   * Where it is, by port, the addresses canonical: each address its host has resolved to, by
   * plugins' resolver and by getaddrinfo (as the fleet's own client resolves it), at its port, and
   * each endpoint `discover` answered. Never dropped: after a failover the old primary is still the
   * fleet's Redis, and a partial answer (one family timing out) must not reopen the other.
   */
  endpoints: Map<number, Set<string>>
  /** Whether a lookup of its host has answered (an address is its own answer). */
  resolved: boolean
  /** Whether `discover` has answered with an endpoint. */
  discovered: boolean
}
/** One text per address, whatever its spelling: IPv4 carried in IPv6 as the IPv4, IPv6 as its 16 bytes. */
function canonical(address: string): string {
  const ip = withoutZone(normalizeHost(address))
  const carried = isIP(ip) === 6 ? embeddedIpv4(ip) : null
  if (carried) return carried
  return isIP(ip) === 6 ? ipv6Bytes(ip)!.join(':') : ip
}

const LOOPBACK_V6 = canonical('::1')
const UNSPECIFIED_V6 = canonical('::')

/**
 * The fleet's services closed to the plugins whose policy carries this (AddressPolicy's `closed`):
 * checked in the socket guard and in FetchGuard before the allowlist. A service on this host is
 * closed at each of its addresses (`localhost`, `0.0.0.0`, its interfaces), at its port.
 */
export class ClosedServices {
  private readonly entries: Entry[]
  /** This host's own addresses (canonical): a service on one of them is reached through any of them. */
  private ownAddresses = new Set<string>()
  private timer: NodeJS.Timeout | undefined
  private refreshing: Promise<void> | undefined

  /** `system`: getaddrinfo (tests give a stand-in). */
  constructor(
    services: readonly FleetService[],
    private readonly system: SystemLookup = getaddrinfo,
  ) {
    this.entries = services.map((service) => ({ service, key: hostKey(normalizeHost(service.host)), endpoints: new Map(), resolved: false, discovered: false }))
  }

  /** Resolves the services' names (and reads this host's addresses) now and every `recheckMs` until `stop`. */
  async watch(recheckMs = FLEET_SERVICES_RECHECK_MS): Promise<this> {
    await this.recheck()
    this.timer = setInterval(() => void this.recheck(), recheckMs)
    this.timer.unref()
    return this
  }

  /**
   * Resolves and asks again now (plugin-runtime: whenever its Redis connection is ready again, after
   * a reconnect or a failover); joins one in flight. Never throws, and each answer waits at most
   * ANSWER_TIMEOUT_MS.
   */
  recheck(): Promise<void> {
    this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined))
    return this.refreshing
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** The services whose host no lookup has answered yet: refused by that name only, until one does. */
  unresolved(): FleetService[] {
    return this.entries.filter((entry) => !entry.resolved).map((entry) => entry.service)
  }

  /** The services with a `discover` that has not said where they are yet. */
  undiscovered(): FleetService[] {
    return this.entries.filter((entry) => entry.service.discover && !entry.discovered).map((entry) => entry.service)
  }

  /** Why a plugin may not connect to `host` (a name or an address) at `port`, or null. */
  refusal(host: string, port: number): string | null {
    const text = normalizeHost(host)
    const address = isIP(withoutZone(text)) !== 0 ? canonical(text) : null
    for (const { service, key, endpoints } of this.entries) {
      const reached = address === null ? service.port === port && hostKey(text) === key : this.reaches(address, port, endpoints)
      if (reached) return `${host} port ${port} is ${service.name}, which no plugin may reach`
    }
    return null
  }

  /**
   * `lookup` for a socket connecting to `port`: the services' addresses at that port are dropped
   * from its answers, and a name left with none fails with FetchRefusedError naming the service.
   */
  lookup(lookup: LookupFunction, port: number): LookupFunction {
    return (hostname, options, callback) => {
      lookup(hostname, { ...options, all: true }, (error, found) => {
        if (error) return callback(error, '', 0)
        // No allowlist hint: no entry opens these.
        answerOpen(hostname, options, callback, found as unknown as LookupAddress[], (address) => this.refusal(address, port), false)
      })
    }
  }

  /** Whether `address` at `port` is one of `endpoints`, or reaches one of them on this host. */
  private reaches(address: string, port: number, endpoints: ReadonlyMap<number, ReadonlySet<string>>): boolean {
    const at = endpoints.get(port)
    if (!at) return false
    return at.has(address) || (this.isLocal(address) && [...at].some((other) => this.isLocal(other)))
  }

  /** Whether connecting to `address` reaches this host: loopback, unspecified (Linux connects 0.0.0.0 to itself) or one of its interfaces. */
  private isLocal(address: string): boolean {
    return address.startsWith('127.') || address.startsWith('0.') || address === LOOPBACK_V6 || address === UNSPECIFIED_V6 || this.ownAddresses.has(address)
  }

  /** Never throws: a failed read keeps what the last one found. */
  private async refresh(): Promise<void> {
    try {
      const interfaces = Object.values(os.networkInterfaces()).flatMap((list) => list ?? [])
      this.ownAddresses = new Set(interfaces.map((i) => canonical(i.address)))
    } catch {
      // getifaddrs failed (EMFILE, say): the last addresses stand.
    }
    const { system } = this
    await Promise.all(
      this.entries.flatMap((entry) =>
        [
          addAnswer(entry, (host, done) => resolveName(host, 0, system, done)),
          // As ioredis and pg resolve the fleet's services (getaddrinfo: other NSS sources, nscd).
          addAnswer(entry, (host, done) => system(host, 0, done)),
          addDiscovered(entry),
        ].map(withinAnswerTimeout),
      ),
    )
  }
}

function addEndpoint(entry: Entry, address: string, port: number): void {
  let at = entry.endpoints.get(port)
  if (!at) entry.endpoints.set(port, (at = new Set()))
  at.add(canonical(address))
}

/**
 * Adds what `resolve` answers for the entry's host: by plugins' resolver (the hosts file, the search
 * list, DNS or PLUGIN_DNS_SERVERS) the answer they would get, by getaddrinfo the fleet's own. A
 * failed lookup adds nothing: the name and the addresses found before stay refused.
 */
function addAnswer(entry: Entry, resolve: (hostname: string, callback: (error: Error | null, found: LookupAddress[]) => void) => void): Promise<void> {
  const { host, port } = entry.service
  const add = (address: string) => addEndpoint(entry, address, port)
  if (isIP(normalizeHost(host)) !== 0) {
    add(host)
    entry.resolved = true
    return Promise.resolve()
  }
  return new Promise((done) =>
    resolve(host, (error, found) => {
      if (!error && found.length > 0) {
        found.forEach((a) => add(a.address))
        entry.resolved = true
      }
      done()
    }),
  )
}

/**
 * How long a refresh waits for each answer (a lookup, a service saying where it is): start-up waits
 * for the first refresh. A late answer still counts when it comes.
 */
export const ANSWER_TIMEOUT_MS = 2000

function withinAnswerTimeout(work: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ANSWER_TIMEOUT_MS)))
  return Promise.race([work, late]).finally(() => clearTimeout(timer))
}

/** Adds where the service says it is; an endpoint that is not `address:port`, or a failed answer, adds nothing. */
async function addDiscovered(entry: Entry): Promise<void> {
  try {
    for (const endpoint of (await entry.service.discover?.()) ?? []) {
      const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(endpoint)
      if (match && isIP(match[1]) !== 0) {
        addEndpoint(entry, match[1], Number(match[2]))
        entry.discovered = true
      }
    }
  } catch {
    // The service is away or will not say (an ACL, a Redis before 6.2, a proxy): the rest stays closed.
  }
}

/**
 * The services closed, their names resolved (again every `recheckMs` until `stop()`): give it to
 * every AddressPolicy (fetchGuard, PluginInstanceOptions.closedServices) the process's plugins use.
 */
export function closeToPlugins(services: readonly FleetService[], options: { recheckMs?: number; system?: SystemLookup } = {}): Promise<ClosedServices> {
  return new ClosedServices(services, options.system).watch(options.recheckMs)
}
