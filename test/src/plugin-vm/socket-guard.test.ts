import assert from 'assert/strict'
import { randomBytes } from 'crypto'
import dns from 'dns'
import http from 'http'
import net, { Socket } from 'net'
import tls from 'tls'
import { AddressPolicy, FetchRefusedError, outsideAddressPolicy, SocketCount, withAddressPolicy } from '@plugin-server/plugin-vm'

/** What a socket did: reached the service and got its answer to `PING`, or failed (and how). */
function outcome(socket: Socket, send = 'PING\r\n'): Promise<string> {
  return new Promise((resolve) => {
    socket.once('connect', () => socket.write(send))
    socket.once('data', (data) => {
      resolve(`replied ${data.toString().trim()}`)
      socket.destroy()
    })
    socket.once('error', (error) => resolve(`${error.name}: ${error.message}`))
  })
}

/** getaddrinfo that answers only when told to, as a DNS server that does not answer would hold it; `restore` puts dns.lookup back. */
class HeldLookups {
  readonly held: { host: string; answer: () => void }[] = []
  readonly answered: string[] = []
  private readonly original = dns.lookup

  /** `onHeld`: the names held, each time one more is. */
  constructor(onHeld: (hosts: string[]) => void) {
    ;(dns as { lookup: unknown }).lookup = (host: string, _options: dns.LookupAllOptions, callback: (e: null, a: dns.LookupAddress[]) => void) => {
      this.held.push({ host, answer: () => callback(null, [{ address: '127.0.0.1', family: 4 }]) })
      onHeld(this.held.map((h) => h.host))
    }
  }

  /** Waits until a lookup is held, and answers the oldest. */
  async answerNext(): Promise<void> {
    while (this.held.length === 0) await new Promise((r) => setImmediate(r))
    const next = this.held.shift()!
    this.answered.push(next.host)
    next.answer()
  }

  restore(): void {
    ;(dns as { lookup: unknown }).lookup = this.original
  }
}

describe('plugin-vm: the socket guard (every socket opened under an address policy)', () => {
  const redisPort = () => Number(new URL(process.env.REDIS_URL!).port)
  const refuseAll = new AddressPolicy([])
  /** Connects to the test Redis by each name, under a policy allowing localhost, as `owner`: what each socket did. */
  const openNames = (owner: SocketCount, names: string[]) =>
    withAddressPolicy(new AddressPolicy(['localhost']), 'test', () => Promise.all(names.map((n) => outcome(net.connect(redisPort(), n)))), owner)

  it('refuses the test Redis on loopback, however the socket is opened, and writes nothing to it', async () => {
    const port = redisPort()
    const marker = `socket_guard_${randomBytes(4).toString('hex')}`
    const write = `SET ${marker} owned\r\n`
    const attempts = await withAddressPolicy(refuseAll, 'test', () =>
      Promise.all([
        outcome(net.connect(port, '127.0.0.1'), write),
        outcome(net.createConnection({ port, host: '127.0.0.1' }), write),
        outcome(new Socket().connect(port, '127.0.0.1'), write),
        outcome(new Socket().connect({ port, host: '::ffff:127.0.0.1' }), write),
        outcome(tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }), write),
      ]),
    )
    for (const attempt of attempts) assert.match(attempt, /^FetchRefusedError: fetch refused: test: .*127\.0\.0\.1.* loopback/)
    assert.equal(await outcome(net.connect(port, '127.0.0.1'), `EXISTS ${marker}\r\n`), 'replied :0')
  })

  it('checks names after DNS with its own lookup, whatever lookup the caller passed', async () => {
    const port = redisPort()
    let callersLookupUsed = false
    const lookup: net.LookupFunction = (_host, _options, callback) => {
      callersLookupUsed = true
      callback(null, '127.0.0.1', 4)
    }
    const attempts = await withAddressPolicy(refuseAll, 'test', () =>
      Promise.all([outcome(net.connect({ port, host: 'localhost' })), outcome(net.connect({ port, host: 'localhost', lookup }))]),
    )
    for (const attempt of attempts) assert.match(attempt, /FetchRefusedError: fetch refused: host "localhost" resolves only to refused addresses/)
    assert.equal(callersLookupUsed, false)
  })

  it("resolves each instance's socket names one at a time, and all instances' together on at most half of libuv's threads, taking turns", async () => {
    let most = 0
    const lookups = new HeldLookups((hosts) => (most = Math.max(most, hosts.length)))
    try {
      const [a, b, c] = [new SocketCount(), new SocketCount(), new SocketCount()]
      const outcomes = Promise.all([openNames(a, ['localhost', 'LOCALHOST', 'LocalHost']), openNames(b, ['Localhost']), openNames(c, ['localHost'])])
      for (let i = 0; i < 5; i++) await lookups.answerNext()
      // Two at once (half of 4 threads); instance a's second waits for c, which had none yet.
      assert.equal(most, 2)
      assert.deepEqual(lookups.answered, ['localhost', 'Localhost', 'localHost', 'LOCALHOST', 'LocalHost'])
      assert.deepEqual(await outcomes, [['replied +PONG', 'replied +PONG', 'replied +PONG'], ['replied +PONG'], ['replied +PONG']])
    } finally {
      lookups.restore()
    }
  })

  it("gives a team's instances one of those lookups at a time (their counts sit within the team's), so a team whose lookups hang leaves the other slot to other teams", async () => {
    let mostOfTeam = 0
    const ofTeam = new Set(['localhost', 'LOCALHOST', 'Localhost'])
    const lookups = new HeldLookups((hosts) => (mostOfTeam = Math.max(mostOfTeam, hosts.filter((h) => ofTeam.has(h)).length)))
    try {
      const team = new SocketCount(100)
      const [a1, a2, b] = [new SocketCount(64, team), new SocketCount(64, team), new SocketCount()]
      const outcomes = Promise.all([openNames(a1, ['localhost', 'LOCALHOST']), openNames(a2, ['Localhost']), openNames(b, ['localHost'])])
      while (lookups.held.length === 0) await new Promise((r) => setImmediate(r))
      await new Promise((r) => setImmediate(r))
      assert.deepEqual(
        lookups.held.map((h) => h.host),
        ['localhost', 'localHost'],
        "the team's second instance waits; the other team's lookup takes the second slot",
      )
      for (let i = 0; i < 4; i++) await lookups.answerNext()
      assert.equal(mostOfTeam, 1, 'never two of the team at once')
      assert.deepEqual(lookups.answered, ['localhost', 'localHost', 'Localhost', 'LOCALHOST'])
      assert.deepEqual(await outcomes, [['replied +PONG', 'replied +PONG'], ['replied +PONG'], ['replied +PONG']])
    } finally {
      lookups.restore()
    }
  })

  it('refuses Unix sockets', async () => {
    const attempts = await withAddressPolicy(new AddressPolicy(['0.0.0.0/0', '::/0']), 'test', () =>
      Promise.all([outcome(net.connect('/var/run/redis.sock')), outcome(net.connect({ path: '/tmp/.s.PGSQL.5432' }))]),
    )
    for (const attempt of attempts) assert.equal(attempt, 'FetchRefusedError: fetch refused: test: Unix socket connections are not allowed')
  })

  it('follows the work it started: a socket opened later from a timer, or by an http request, is checked too', async () => {
    const port = redisPort()
    const later = await withAddressPolicy(
      refuseAll,
      'test',
      () => new Promise<string>((resolve) => setTimeout(() => void outcome(net.connect(port, '127.0.0.1')).then(resolve), 1)),
    )
    assert.match(later, /FetchRefusedError/)
    const viaHttp = await withAddressPolicy(
      refuseAll,
      'test',
      () =>
        new Promise<string>((resolve) => {
          http
            .get(`http://127.0.0.1:${port}/`)
            .on('error', (error) => resolve(`${error.name}: ${error.message}`))
            .on('response', () => resolve('answered'))
        }),
    )
    assert.match(viaHttp, /FetchRefusedError/)
  })

  it('leaves sockets opened outside a policy alone, and connects where the policy allows', async () => {
    const port = redisPort()
    assert.equal(await outcome(net.connect(port, '127.0.0.1')), 'replied +PONG')
    assert.equal(await withAddressPolicy(refuseAll, 'test', () => outsideAddressPolicy(() => outcome(net.connect(port, '127.0.0.1')))), 'replied +PONG')
    assert.equal(await withAddressPolicy(new AddressPolicy(['127.0.0.0/8']), 'test', () => outcome(net.connect(port, '127.0.0.1'))), 'replied +PONG')
    assert.equal(await withAddressPolicy(new AddressPolicy(['localhost']), 'test', () => outcome(net.connect(port, 'localhost'))), 'replied +PONG')
  })

  it('hands a kept-alive socket only to the plugin instance that opened it, though instances share one policy and one agent', async () => {
    const connections: Socket[] = []
    const server = http.createServer((_req, res) => res.end('ok')).on('connection', (socket: Socket) => connections.push(socket))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as net.AddressInfo).port
    const agent = new http.Agent({ keepAlive: true })
    const policy = new AddressPolicy(['127.0.0.0/8'])
    const [a, b] = [new SocketCount(), new SocketCount()]
    const get = (sockets: SocketCount) =>
      withAddressPolicy(
        policy,
        'test',
        () =>
          new Promise<void>((resolve, reject) =>
            http.get({ host: '127.0.0.1', port, agent }, (res) => res.resume().once('end', () => setImmediate(resolve))).once('error', reject),
          ),
        sockets,
      )
    try {
      await get(a)
      await get(b)
      assert.equal(connections.length, 2, "the second instance did not get the first one's idle socket")
      assert.deepEqual([a.open, b.open], [1, 1], 'each socket counts against the instance that opened it')
      await get(a)
      assert.equal(connections.length, 2, 'the first instance reuses its own')
      await outsideAddressPolicy(
        () =>
          new Promise<void>((resolve, reject) =>
            http.get({ host: '127.0.0.1', port, agent }, (res) => res.resume().once('end', resolve)).once('error', reject),
          ),
      )
      assert.equal(connections.length, 3, "nor does host code get a plugin instance's socket")
    } finally {
      agent.destroy()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('refuses with the FetchRefusedError class the fetch policy uses', async () => {
    const error = await withAddressPolicy(
      refuseAll,
      'test',
      () => new Promise<Error>((resolve) => net.connect(redisPort(), '169.254.169.254').once('error', resolve)),
    )
    assert.ok(error instanceof FetchRefusedError)
    assert.equal((error as FetchRefusedError).code, 'ERR_PLUGIN_FETCH_REFUSED')
    assert.match(
      error.message,
      /169\.254\.169\.254 is a link-local \(cloud metadata\) address \(operators can allow internal hosts with PLUGIN_FETCH_ALLOWED_HOSTS\)/,
    )
  })
})
