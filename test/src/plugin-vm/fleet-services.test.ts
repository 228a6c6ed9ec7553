import assert from 'node:assert/strict'
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import net, { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { AddressPolicy, closeToPlugins, ANSWER_TIMEOUT_MS, fetchGuard, guardedFetch, SocketCount, withAddressPolicy } from '@plugin-server/plugin-vm'
import type { LookupAddress } from 'node:dns'
import { DnsServer } from '../harness/dns-server'
import { eventually } from '../harness/fleet'
import { pingOutcome } from '../harness/ping-outcome'

// Internal to plugin-vm, so loaded by path as name-resolver.test.ts does.
const { useSystemFiles } = require(
  path.resolve(__dirname, '../../../libs/plugin-vm/dist/net/name-resolver.js'),
) as typeof import('@plugin-server/plugin-vm/dist/net/name-resolver')

/** Every address allowed (the address check off): what is refused, the fleet's services refuse. */
const EVERY_ADDRESS = ['0.0.0.0/0', '::/0']
const REDIS = "the fleet's own Redis (REDIS_URL)"

/** A getaddrinfo stand-in (the fleet's own resolver): answers from `names`, ENOTFOUND otherwise. */
function systemLookup(names: Record<string, string> = {}) {
  return (hostname: string, _family: number, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) =>
    setImmediate(() =>
      names[hostname]
        ? callback(null, [{ address: names[hostname], family: 4 }])
        : callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []),
    )
}

describe("plugin-vm: the fleet's own services, closed to plugins whatever the allowlist (fleet-services.ts)", function () {
  this.timeout(30_000)
  /** The test Redis: set by the global fixture, before the hooks run. */
  let redisPort = 0
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fleet-hosts-'))
  const hosts = path.join(dir, 'hosts')
  const writeHosts = (text: string) => {
    writeFileSync(hosts + '.new', text)
    renameSync(hosts + '.new', hosts)
  }
  /** Another Redis-speaking service on loopback: what the closed one's neighbours look like. */
  let other: net.Server
  /** The system's DNS server, on loopback: it knows no name (the hosts file and `systemLookup` do). */
  const dns = new DnsServer({}, new Set())
  before(async () => {
    await dns.start()
    redisPort = Number(new URL(process.env.REDIS_URL!).port)
    writeHosts('')
    useSystemFiles({ hosts, resolvConf: path.join(dir, 'resolv.conf'), nameservers: [dns.server] }, 0)
    other = net.createServer((socket) => socket.on('data', () => socket.end('+PONG\r\n')))
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
  })
  after(async () => {
    useSystemFiles({ hosts: '/etc/hosts', resolvConf: '/etc/resolv.conf' })
    await dns.close()
    rmSync(dir, { recursive: true, force: true })
    await new Promise((resolve) => other.close(resolve))
  })

  it("closeToPlugins: a policy carrying the answer refuses a plugin's sockets to a service on this host at its port by every local address and name, naming it; other ports connect; a policy without it reaches the service", async () => {
    const closed = await closeToPlugins([{ host: '127.0.0.1', port: redisPort, name: REDIS }])
    const connect = (policy: AddressPolicy, host: string, port = redisPort) =>
      withAddressPolicy(policy, 'pg', () => pingOutcome(net.connect(port, host)), new SocketCount())
    try {
      const policy = new AddressPolicy(EVERY_ADDRESS, closed)
      // This host's interfaces too: a Redis listening on all of them is reached through each.
      const interfaces = Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).filter((i) => !i.internal).map((i) => i.address))
      for (const host of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '0.0.0.0', '::', 'localhost', ...interfaces]) {
        const refused = await connect(policy, host)
        assert.match(
          refused,
          new RegExp(
            `^ERR_PLUGIN_FETCH_REFUSED: fetch refused: (pg: )?.*port ${redisPort} is the fleet's own Redis \\(REDIS_URL\\), which no plugin may reach`,
          ),
          host,
        )
        assert.doesNotMatch(refused, /operators can allow/, 'no allowlist entry opens it, so none is suggested')
      }
      assert.equal(await connect(policy, '127.0.0.1', (other.address() as AddressInfo).port), 'replied +PONG', 'another port of loopback')
      assert.equal(await connect(new AddressPolicy(EVERY_ADDRESS), '127.0.0.1'), 'replied +PONG', 'the same allowlist without the closed services')
    } finally {
      closed.stop()
    }
  })

  it("refuses at once a plugin's socket to a host of a million '%' then a line break, which the zone-id regex took seconds over on the worker's event loop, and still reads a zone id", async function () {
    this.timeout(10_000)
    const closed = await closeToPlugins([{ host: '127.0.0.1', port: redisPort, name: REDIS }])
    try {
      const policy = new AddressPolicy(EVERY_ADDRESS, closed)
      assert.equal(closed.refusal(`${'%'.repeat(1_000_000)}\n`, redisPort), null, 'no service, and no address')
      const zoned = new AddressPolicy([]).refusal('fe80::1%' + 'x'.repeat(1_000_000))
      assert.ok(
        zoned !== null && / is a [a-z -]+ address$/.test(zoned.slice(-60)),
        `an address with a long zone id is still judged as the address: ${zoned?.slice(-60)}`,
      )
      const outcome = await withAddressPolicy(policy, 'pg', () => pingOutcome(net.connect(redisPort, `${'%'.repeat(1_000_000)}\n`)), new SocketCount())
      assert.doesNotMatch(outcome, /PONG/)
      assert.match(closed.refusal('::ffff:127.0.0.1%lo', redisPort) ?? '', /is the fleet's own Redis/, 'an address with a zone id is still the address')
    } finally {
      closed.stop()
    }
  })

  it('ClosedServices.refusal: a service known by name is refused by that name (any case, a trailing dot) and by each address it resolves to, at its port only, and adds where the name moves, keeping the old address closed', async () => {
    writeHosts('192.0.2.10 redis.fleet.test\n')
    const closed = await closeToPlugins([{ host: 'redis.fleet.test', port: 6379, name: REDIS }], { recheckMs: 20, system: systemLookup() })
    try {
      for (const host of ['redis.fleet.test', 'REDIS.fleet.test.', '192.0.2.10', '::ffff:192.0.2.10', '[::ffff:c000:20a]'])
        assert.equal(closed.refusal(host, 6379), `${host} port 6379 is ${REDIS}, which no plugin may reach`)
      for (const [host, port] of [
        ['192.0.2.10', 6380],
        ['192.0.2.11', 6379],
        ['127.0.0.1', 6379],
        ['other.fleet.test', 6379],
      ] as const)
        assert.equal(closed.refusal(host, port), null, `${host}:${port}`)
      writeHosts('192.0.2.20 redis.fleet.test\n')
      await eventually(
        'the new address refused',
        async () => closed.refusal('192.0.2.20', 6379),
        (why) => why !== null,
      )
      assert.notEqual(closed.refusal('192.0.2.10', 6379), null, 'the old address is still the fleet’s (a failed-over primary)')
    } finally {
      closed.stop()
    }
  })

  it("ClosedServices: adds the addresses getaddrinfo gives (the fleet's own client's resolver) to those plugins' resolver gives; lists a host neither answers as unresolved, refused by name only", async () => {
    writeHosts('192.0.2.10 redis.fleet.test\n')
    const closed = await closeToPlugins(
      [
        { host: 'redis.fleet.test', port: 6379, name: REDIS },
        { host: 'nowhere.fleet.test', port: 6380, name: 'a service nothing resolves' },
      ],
      { system: systemLookup({ 'redis.fleet.test': '192.0.2.30' }) },
    )
    try {
      for (const address of ['192.0.2.10', '192.0.2.30']) assert.notEqual(closed.refusal(address, 6379), null, address)
      assert.deepEqual(
        closed.unresolved().map((s) => s.host),
        ['nowhere.fleet.test'],
      )
      assert.notEqual(closed.refusal('nowhere.fleet.test', 6380), null, 'by name')
      assert.ok((dns.asked.get('nowhere.fleet.test') ?? 0) >= 1, "plugins' resolver asked DNS for it")
    } finally {
      closed.stop()
    }
  })

  it("ClosedServices: closes where the service says it is (discover: Redis behind a cluster IP) at each endpoint's own port, and keeps it; a failing answer adds nothing; a late one holds the start at most ANSWER_TIMEOUT_MS and counts when it comes", async () => {
    writeHosts('192.0.2.10 redis.fleet.test\n')
    let answer: readonly string[] = ['192.0.2.40:6390', '[fd00::40]:6379', 'not an endpoint']
    const closed = await closeToPlugins([{ host: 'redis.fleet.test', port: 6379, name: REDIS, discover: async () => answer }], {
      recheckMs: 20,
      system: systemLookup(),
    })
    try {
      for (const [host, port] of [
        ['192.0.2.40', 6390],
        ['::ffff:192.0.2.40', 6390],
        ['fd00::40', 6379],
        ['192.0.2.10', 6379],
      ] as const)
        assert.notEqual(closed.refusal(host, port), null, `${host}:${port}`)
      assert.equal(closed.refusal('192.0.2.40', 6379), null, 'a discovered endpoint is closed at its own port only')
      answer = ['192.0.2.41:6379']
      await eventually(
        'the new endpoint closed',
        async () => closed.refusal('192.0.2.41', 6379),
        (why) => why !== null,
      )
      assert.notEqual(closed.refusal('192.0.2.40', 6390), null, 'the earlier one stays closed')
    } finally {
      closed.stop()
    }
    assert.deepEqual(closed.undiscovered(), [])
    const started = Date.now()
    let answerLate: (endpoints: string[]) => void = () => undefined
    const late = await closeToPlugins([{ host: '192.0.2.10', port: 6379, name: REDIS, discover: () => new Promise((resolve) => (answerLate = resolve)) }])
    const failing = await closeToPlugins([{ host: '192.0.2.10', port: 6379, name: REDIS, discover: async () => Promise.reject(new Error('NOPERM')) }])
    try {
      assert.ok(Date.now() - started < 2 * ANSWER_TIMEOUT_MS + 2000, `both started within ${Date.now() - started} ms`)
      assert.notEqual(failing.refusal('192.0.2.10', 6379), null, 'its address is closed all the same')
      assert.deepEqual([late.undiscovered().length, failing.undiscovered().length], [1, 1], 'neither has said where it is')
      answerLate(['192.0.2.42:6379'])
      await eventually(
        'the late answer counted',
        async () => late.refusal('192.0.2.42', 6379),
        (why) => why !== null,
      )
      assert.deepEqual(late.undiscovered(), [])
    } finally {
      late.stop()
      failing.stop()
    }
  })

  it("withAddressPolicy: a name resolving to the service's address and another connects to the other; one resolving only to the service is refused", async () => {
    const port = (other.address() as AddressInfo).port
    writeHosts(`192.0.2.10 redis.fleet.test\n192.0.2.10 both.test\n127.0.0.1 both.test\n192.0.2.10 alias.test\n`)
    const closed = await closeToPlugins([{ host: 'redis.fleet.test', port, name: REDIS }], { system: systemLookup() })
    const policy = new AddressPolicy(EVERY_ADDRESS, closed)
    // One address tried, the lookup's first (no happy eyeballs): the one it answers must be the open one.
    const connect = (host: string) =>
      withAddressPolicy(policy, 'pg', () => pingOutcome(net.connect({ port, host, autoSelectFamily: false })), new SocketCount())
    try {
      assert.equal(await connect('both.test'), 'replied +PONG', 'the hosts file lists 192.0.2.10 first, where nothing answers')
      // Node's default: every address asked for at once (autoSelectFamily), the closed one dropped from them.
      const attempted: string[] = []
      const reached = await withAddressPolicy(
        policy,
        'pg',
        () => {
          const socket = net.connect({ port, host: 'both.test' })
          socket.on('connectionAttempt', (ip: string) => attempted.push(ip))
          return pingOutcome(socket)
        },
        new SocketCount(),
      )
      assert.equal(reached, 'replied +PONG')
      assert.deepEqual(attempted, ['127.0.0.1'], 'only the open address was tried')
      assert.match(
        await connect('alias.test'),
        new RegExp(`host "alias.test" resolves only to refused addresses \\(192.0.2.10 port ${port} is ${REDIS.replace(/[()]/g, '\\$&')}`),
      )
    } finally {
      closed.stop()
    }
  })

  it("fetchGuard: with the closed services, host code's requests through its agents (webhooks, posthog.api to a plugin's host) are refused by address and by name; the same allowlist without them is not", async () => {
    const port = (other.address() as AddressInfo).port
    const closed = await closeToPlugins([{ host: '127.0.0.1', port, name: REDIS }])
    const send = (guard: ReturnType<typeof fetchGuard>, host: string) =>
      guardedFetch(`http://${host}:${port}/key`, { method: 'SET' }, { guard, maxBytes: 1024 }).then(
        () => 'answered',
        (error: Error & { code?: string }) => `${error.code}: ${error.message}`,
      )
    try {
      for (const host of ['127.0.0.1', 'localhost'])
        assert.match(
          await send(fetchGuard(EVERY_ADDRESS, undefined, closed), host),
          new RegExp(`^ERR_PLUGIN_FETCH_REFUSED: fetch refused: .*port ${port} is the fleet's own Redis`),
          host,
        )
      assert.match(await send(fetchGuard(EVERY_ADDRESS), 'localhost'), /Parse Error|socket hang up|ECONNRESET/, 'reached: the service answers no HTTP')
    } finally {
      closed.stop()
    }
  })
})
