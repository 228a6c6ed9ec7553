import dgram from 'node:dgram'

const A = 1
const AAAA = 28
const SERVFAIL = 2
const NXDOMAIN = 3
const REFUSED = 5

/**
 * A DNS server on loopback (UDP) speaking enough of RFC 1035 for c-ares (PLUGIN_DNS_SERVERS): names in
 * `addresses` answer their IPv4 address (A) and no AAAA records; names in `blackHoled` are never
 * answered, as a name whose servers are down or firewalled; names in `refused` are REFUSED, in
 * `failing` SERVFAIL; any other name is NXDOMAIN.
 */
export class DnsServer {
  private readonly socket = dgram.createSocket('udp4')
  /** Queries seen for each name, answered or not. */
  readonly asked = new Map<string, number>()
  /** Each name as it was first asked for, in order. */
  readonly order: string[] = []

  constructor(
    private readonly addresses: Record<string, string>,
    private readonly blackHoled: ReadonlySet<string>,
    private readonly refused: ReadonlySet<string> = new Set(),
    private readonly failing: ReadonlySet<string> = new Set(),
  ) {}

  async start(): Promise<void> {
    this.socket.on('message', (message, peer) => {
      const reply = this.answer(message)
      if (reply) this.socket.send(reply, peer.port, peer.address)
    })
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve))
  }

  /** `127.0.0.1:port`, as PLUGIN_DNS_SERVERS takes it. */
  get server(): string {
    return `127.0.0.1:${this.socket.address().port}`
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()))
  }

  private answer(query: Buffer): Buffer | null {
    // Header (12 bytes), then one question: length-prefixed labels, a zero, type and class.
    const labels: string[] = []
    let at = 12
    while (query[at] !== 0) {
      labels.push(query.toString('latin1', at + 1, at + 1 + query[at]))
      at += 1 + query[at]
    }
    const questionEnd = at + 5
    const name = labels.join('.').toLowerCase()
    const type = query.readUInt16BE(at + 1)
    if (!this.asked.has(name)) this.order.push(name)
    this.asked.set(name, (this.asked.get(name) ?? 0) + 1)
    if (this.blackHoled.has(name)) return null
    const address = this.addresses[name]
    const records = address !== undefined && type === A ? [Buffer.from(address.split('.').map(Number))] : []
    const header = Buffer.alloc(12)
    query.copy(header, 0, 0, 2)
    // A response, recursion desired and available; REFUSED, SERVFAIL, or NXDOMAIN for a name not known at all.
    const rcode = this.refused.has(name) ? REFUSED : this.failing.has(name) ? SERVFAIL : address === undefined ? NXDOMAIN : 0
    header.writeUInt16BE(0x8180 | rcode, 2)
    header.writeUInt16BE(1, 4)
    header.writeUInt16BE(records.length, 6)
    const answers = records.map((rdata) => {
      const record = Buffer.alloc(12 + rdata.length)
      record.writeUInt16BE(0xc00c, 0) // the question's name
      record.writeUInt16BE(type === AAAA ? AAAA : A, 2)
      record.writeUInt16BE(1, 4) // IN
      record.writeUInt32BE(60, 6)
      record.writeUInt16BE(rdata.length, 10)
      rdata.copy(record, 12)
      return record
    })
    return Buffer.concat([header, query.subarray(12, questionEnd), ...answers])
  }
}
