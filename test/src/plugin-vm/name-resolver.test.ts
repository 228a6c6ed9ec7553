import assert from 'node:assert/strict'
import type { LookupAddress } from 'node:dns'
import net, { Socket } from 'node:net'
import path from 'node:path'
import { AddressPolicy, SocketCount, usePluginDnsServers, withAddressPolicy } from '@plugin-server/plugin-vm'
import { DnsServer } from '../harness/dns-server'

// Internal to plugin-vm (guarded-lookup.ts asks it), so loaded by path as cache-reads.test.ts does.
const { resolveName } = require(
  path.resolve(__dirname, '../../../libs/plugin-vm/dist/net/name-resolver.js'),
) as typeof import('@plugin-server/plugin-vm/dist/net/name-resolver')

type Answer = { error: NodeJS.ErrnoException | null; addresses: LookupAddress[] }

/** A getaddrinfo stand-in answering every name with 127.0.0.2, recording what it was asked. */
function recordingSystem() {
  const asked: string[] = []
  const system = (hostname: string, _family: number, callback: (e: null, a: LookupAddress[]) => void) => {
    asked.push(hostname)
    setImmediate(() => callback(null, [{ address: '127.0.0.2', family: 4 }]))
  }
  return { asked, system }
}

function resolved(hostname: string, family: number, system: ReturnType<typeof recordingSystem>['system']): Promise<Answer> {
  return new Promise((resolve) => resolveName(hostname, family, system, (error, addresses) => resolve({ error, addresses })))
}

/** What a socket did: reached the service and got its answer to `PING`, or failed (and how). */
function outcome(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => {
      resolve(`replied ${data.toString().trim()}`)
      socket.destroy()
    })
    socket.once('error', (error) => resolve(`${(error as NodeJS.ErrnoException).code}: ${error.message}`))
  })
}

describe("plugin-vm: resolving plugins' names (name-resolver.ts, PLUGIN_DNS_SERVERS)", function () {
  this.timeout(60_000)
  const dns = new DnsServer({ 'good.test': '127.0.0.1' }, new Set(['black-holed.test']), new Set(['refused.test']))
  before(async () => {
    await dns.start()
    usePluginDnsServers([dns.server])
  })
  after(async () => {
    usePluginDnsServers([])
    await dns.close()
  })

  it('resolveName: answers a name from the DNS servers, not getaddrinfo', async () => {
    const { asked, system } = recordingSystem()
    assert.deepEqual(await resolved('good.test', 0, system), { error: null, addresses: [{ address: '127.0.0.1', family: 4 }] })
    assert.deepEqual(await resolved('GOOD.test', 4, system), { error: null, addresses: [{ address: '127.0.0.1', family: 4 }] })
    assert.deepEqual(await resolved('127.0.0.3', 0, system), { error: null, addresses: [{ address: '127.0.0.3', family: 4 }] }, 'an address is its own answer')
    assert.deepEqual(asked, [])
  })

  it('resolveName: asks getaddrinfo what DNS cannot answer: localhost, a name without a dot (search domains), a name DNS has no address for or refuses (the hosts file)', async () => {
    const { asked, system } = recordingSystem()
    for (const name of ['localhost', 'db.localhost', 'redis', 'unknown.test', 'refused.test']) {
      assert.deepEqual(await resolved(name, 0, system), { error: null, addresses: [{ address: '127.0.0.2', family: 4 }] })
    }
    assert.deepEqual(asked, ['localhost', 'db.localhost', 'redis', 'unknown.test', 'refused.test'])
    assert.ok((dns.asked.get('unknown.test') ?? 0) >= 1 && (dns.asked.get('refused.test') ?? 0) >= 1, 'DNS was asked first')
    assert.equal(dns.asked.get('redis'), undefined)
  })

  it('resolveName: fails a name whose DNS servers never answer with ETIMEOUT, and does not ask getaddrinfo', async () => {
    const { asked, system } = recordingSystem()
    const { error } = await resolved('black-holed.test', 0, system)
    assert.equal(error?.code, 'ETIMEOUT')
    assert.match(String(error?.message), /^query(A|Aaaa) ETIMEOUT black-holed\.test \(its DNS servers did not answer\)$/)
    assert.deepEqual(asked, [])
  })

  it("withAddressPolicy: a plugin's names whose servers never answer hold none of libuv's threads nor the lookup slots: another plugin's names resolve and connect meanwhile", async () => {
    const policy = new AddressPolicy(['127.0.0.0/8'])
    const redisPort = Number(new URL(process.env.REDIS_URL!).port)
    const [stuck, healthy] = [new SocketCount(), new SocketCount()]
    // 40 connects of one plugin to the black-holed name: through getaddrinfo they held both lookup slots for seconds each.
    let settled = 0
    const stuckOutcomes = withAddressPolicy(
      policy,
      'stuck',
      () => Promise.all(Array.from({ length: 40 }, () => outcome(net.connect(redisPort, 'black-holed.test')).finally(() => settled++))),
      stuck,
    )
    await new Promise((resolve) => setImmediate(resolve))
    const healthyOutcomes = await withAddressPolicy(
      policy,
      'healthy',
      () => Promise.all(Array.from({ length: 5 }, () => outcome(net.connect(redisPort, 'good.test')))),
      healthy,
    )
    assert.deepEqual(healthyOutcomes, Array(5).fill('replied +PONG'))
    assert.equal(settled, 0, "the other plugin's lookups were all still waiting for an answer")
    const failed = await stuckOutcomes
    assert.equal(failed.length, 40)
    for (const text of failed) assert.match(text, /^ETIMEOUT: query(A|Aaaa) ETIMEOUT black-holed\.test \(its DNS servers did not answer\)$/)
  })
})
