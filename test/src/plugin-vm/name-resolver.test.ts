import assert from 'node:assert/strict'
import type { LookupAddress } from 'node:dns'
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import net, { Socket } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { AddressPolicy, SocketCount, usePluginDnsServers, withAddressPolicy } from '@plugin-server/plugin-vm'
import { DnsServer } from '../harness/dns-server'

// Internal to plugin-vm (guarded-lookup.ts asks it), so loaded by path as cache-reads.test.ts does.
const { resolveName, useHostsFile } = require(
  path.resolve(__dirname, '../../../libs/plugin-vm/dist/net/name-resolver.js'),
) as typeof import('@plugin-server/plugin-vm/dist/net/name-resolver')
const { HostsFile } = require(
  path.resolve(__dirname, '../../../libs/plugin-vm/dist/net/hosts-file.js'),
) as typeof import('@plugin-server/plugin-vm/dist/net/hosts-file')

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
  const dns = new DnsServer({ 'good.test': '127.0.0.1', 'aliased.test': '127.0.0.9' }, new Set(['black-holed.test']), new Set(['refused.test']))
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hosts-'))
  const hosts = path.join(dir, 'hosts')
  /** Replaces the hosts file (a new inode, as an editor or Kubernetes' kubelet writes it). */
  const writeHosts = (text: string) => {
    writeFileSync(hosts + '.new', text)
    renameSync(hosts + '.new', hosts)
  }
  before(async () => {
    await dns.start()
    usePluginDnsServers([dns.server])
    writeHosts('')
    useHostsFile(hosts, 0)
  })
  after(async () => {
    usePluginDnsServers([])
    useHostsFile('/etc/hosts')
    await dns.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('resolveName: answers a name from the DNS servers, not getaddrinfo', async () => {
    const { asked, system } = recordingSystem()
    assert.deepEqual(await resolved('good.test', 0, system), { error: null, addresses: [{ address: '127.0.0.1', family: 4 }] })
    assert.deepEqual(await resolved('GOOD.test', 4, system), { error: null, addresses: [{ address: '127.0.0.1', family: 4 }] })
    assert.deepEqual(await resolved('127.0.0.3', 0, system), { error: null, addresses: [{ address: '127.0.0.3', family: 4 }] }, 'an address is its own answer')
    assert.deepEqual(asked, [])
  })

  it('resolveName: asks getaddrinfo what DNS cannot answer: localhost, a name without a dot (search domains), a name DNS has no address for or refuses (search domains, other NSS sources)', async () => {
    const { asked, system } = recordingSystem()
    for (const name of ['localhost', 'db.localhost', 'redis', 'unknown.test', 'refused.test']) {
      assert.deepEqual(await resolved(name, 0, system), { error: null, addresses: [{ address: '127.0.0.2', family: 4 }] })
    }
    assert.deepEqual(asked, ['localhost', 'db.localhost', 'redis', 'unknown.test', 'refused.test'])
    assert.ok((dns.asked.get('unknown.test') ?? 0) >= 1 && (dns.asked.get('refused.test') ?? 0) >= 1, 'DNS was asked first')
    assert.equal(dns.asked.get('redis'), undefined)
  })

  it('resolveName: answers a name the hosts file has from it, before DNS and without getaddrinfo, as getaddrinfo reads it (an entry overrides DNS, as hostAliases do)', async () => {
    writeHosts(
      [
        '# Kubernetes-managed hosts file',
        '127.0.0.1\tlocalhost',
        '10.1.2.3   pod-name',
        '',
        '# Entries added by HostAliases.',
        '127.0.0.5 aliased.test  ALIAS.test. # the proxy',
        '::1 aliased.test',
        '127.0.0.6 v4only.test',
        'not-an-address ignored.test',
        '',
      ].join('\n'),
    )
    const { asked, system } = recordingSystem()
    const before = dns.asked.get('aliased.test') ?? 0
    assert.deepEqual(await resolved('aliased.test', 0, system), {
      error: null,
      addresses: [
        { address: '127.0.0.5', family: 4 },
        { address: '::1', family: 6 },
      ],
    })
    assert.deepEqual(await resolved('Alias.Test', 4, system), { error: null, addresses: [{ address: '127.0.0.5', family: 4 }] }, 'an alias, any case')
    assert.deepEqual(await resolved('aliased.test.', 6, system), { error: null, addresses: [{ address: '::1', family: 6 }] }, 'a trailing dot, one family')
    assert.deepEqual(await resolved('pod-name', 0, system), { error: null, addresses: [{ address: '10.1.2.3', family: 4 }] }, 'a name without a dot')
    assert.equal(dns.asked.get('aliased.test') ?? 0, before, 'DNS (which says 127.0.0.9) was not asked')
    assert.deepEqual(asked, [], 'nor getaddrinfo')
    // No IPv6 entry: DNS is asked, as getaddrinfo asks it; its NXDOMAIN then goes to getaddrinfo as ever.
    assert.deepEqual(await resolved('v4only.test', 6, system), { error: null, addresses: [{ address: '127.0.0.2', family: 4 }] })
    assert.ok((dns.asked.get('v4only.test') ?? 0) >= 1)
    for (const name of ['ignored.test', 'localhost']) await resolved(name, 0, system)
    assert.deepEqual(asked, ['v4only.test', 'ignored.test', 'localhost'], "a line without an address is no entry; localhost stays getaddrinfo's")
  })

  it('resolveName: reads the hosts file again when it changes, and a name it no longer has goes back to DNS', async () => {
    const { system } = recordingSystem()
    writeHosts('127.0.0.7 aliased.test\n')
    assert.deepEqual((await resolved('aliased.test', 0, system)).addresses, [{ address: '127.0.0.7', family: 4 }])
    writeHosts('127.0.0.8 aliased.test\n')
    assert.deepEqual((await resolved('aliased.test', 0, system)).addresses, [{ address: '127.0.0.8', family: 4 }])
    writeHosts('# emptied\n')
    assert.deepEqual((await resolved('aliased.test', 0, system)).addresses, [{ address: '127.0.0.9', family: 4 }], "DNS's address")
    rmSync(hosts)
    assert.deepEqual((await resolved('aliased.test', 0, system)).addresses, [{ address: '127.0.0.9', family: 4 }], 'no file: no entries')
    writeHosts('')
  })

  it('HostsFile: looks at the file again only every recheckMs', () => {
    let now = 0
    const file = new HostsFile(hosts, 1000, () => now)
    writeHosts('127.0.0.7 a.test\n')
    assert.deepEqual(file.addresses('a.test', 0), [{ address: '127.0.0.7', family: 4 }])
    writeHosts('127.0.0.8 a.test\n')
    now = 999
    assert.deepEqual(file.addresses('a.test', 0), [{ address: '127.0.0.7', family: 4 }], 'within the second: the last reading')
    now = 1000
    assert.deepEqual(file.addresses('a.test', 0), [{ address: '127.0.0.8', family: 4 }])
    writeHosts('')
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

  it("withAddressPolicy: a plugin's connect to a name the hosts file has goes to the hosts file's address, not DNS's", async () => {
    const redisPort = Number(new URL(process.env.REDIS_URL!).port)
    writeHosts('127.0.0.1 aliased.test\n')
    try {
      const reached = await withAddressPolicy(
        new AddressPolicy(['127.0.0.0/8']),
        'aliased',
        () => outcome(net.connect(redisPort, 'aliased.test')),
        new SocketCount(),
      )
      assert.equal(reached, 'replied +PONG', 'DNS says 127.0.0.9, where nothing listens')
    } finally {
      writeHosts('')
    }
  })
})
