import assert from 'node:assert/strict'
import type { LookupAddress } from 'node:dns'
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { AddressPolicy, SocketCount, usePluginDnsServers, withAddressPolicy } from '@plugin-server/plugin-vm'
import { DnsServer } from '../harness/dns-server'
import { pingOutcome } from '../harness/ping-outcome'

// Internal to plugin-vm (guarded-lookup.ts asks it), so loaded by path as cache-reads.test.ts does.
const { resolveName, useSystemFiles } = require(
  path.resolve(__dirname, '../../../libs/plugin-vm/dist/net/name-resolver.js'),
) as typeof import('@plugin-server/plugin-vm/dist/net/name-resolver')
const { parseResolvConf } = require(
  path.resolve(__dirname, '../../../libs/plugin-vm/dist/net/resolv-conf.js'),
) as typeof import('@plugin-server/plugin-vm/dist/net/resolv-conf')
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

describe("plugin-vm: resolving plugins' names (name-resolver.ts, PLUGIN_DNS_SERVERS)", function () {
  this.timeout(60_000)
  const dns = new DnsServer(
    {
      'good.test': '127.0.0.1',
      'aliased.test': '127.0.0.9',
      'redis.cache.svc.cluster.test': '127.0.0.11',
      'api.partner.test': '127.0.0.12',
      'api.partner.test.corp.test': '127.0.0.13',
      'db.corp.test': '127.0.0.14',
    },
    new Set(['black-holed.test', 'db.slow.test']),
    new Set(['refused.test', 'db.refused.test']),
    new Set(['db.failing.test', 'gone.failing.test']),
  )
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hosts-'))
  const hosts = path.join(dir, 'hosts')
  const resolvConf = path.join(dir, 'resolv.conf')
  /** Replaces the file (a new inode, as an editor or Kubernetes' kubelet writes it). */
  const replace = (file: string, text: string) => {
    writeFileSync(file + '.new', text)
    renameSync(file + '.new', file)
  }
  const writeHosts = (text: string) => replace(hosts, text)
  before(async () => {
    await dns.start()
    writeHosts('')
    replace(resolvConf, '')
    // The stand-in server as the system's, as c-ares would have read it from that resolv.conf.
    useSystemFiles({ hosts, resolvConf, nameservers: [dns.server] }, 0)
  })
  after(async () => {
    useSystemFiles({ hosts: '/etc/hosts', resolvConf: '/etc/resolv.conf' })
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

  it("resolveName: asks getaddrinfo only for localhost; a name no source has fails with getaddrinfo's ENOTFOUND (its errno, syscall and hostname), one DNS refuses with EAI_FAIL, without it", async () => {
    const { asked, system } = recordingSystem()
    for (const name of ['localhost', 'db.localhost'])
      assert.deepEqual(await resolved(name, 0, system), { error: null, addresses: [{ address: '127.0.0.2', family: 4 }] })
    for (const name of ['redis', 'unknown.test']) {
      const { error } = await resolved(name, 0, system)
      assert.deepEqual(
        [error?.code, error?.errno, error?.message, error?.syscall, (error as { hostname?: string })?.hostname],
        ['ENOTFOUND', -3008, `getaddrinfo ENOTFOUND ${name}`, 'getaddrinfo', name],
      )
    }
    const refused = (await resolved('refused.test', 0, system)).error
    assert.deepEqual([refused?.code, (refused?.cause as NodeJS.ErrnoException)?.code], ['EAI_FAIL', 'EREFUSED'])
    assert.match(String(refused?.message), /^getaddrinfo EAI_FAIL refused\.test \(query(A|Aaaa) EREFUSED refused\.test\)$/)
    assert.deepEqual(asked, ['localhost', 'db.localhost'])
    assert.ok(
      ['redis', 'unknown.test', 'refused.test'].every((name) => (dns.asked.get(name) ?? 0) >= 1),
      'each was asked of DNS',
    )
  })

  it("resolveName: applies resolv.conf's search list and ndots as getaddrinfo does, which c-ares does not (Kubernetes' service names)", async () => {
    const { asked, system } = recordingSystem()
    const inOrder = async (name: string, family: number) => {
      const from = dns.order.length
      const answer = await resolved(name, family, system)
      return { ...answer, asked: dns.order.slice(from) }
    }
    replace(resolvConf, `nameserver 127.0.0.1\nsearch ns.svc.cluster.test svc.cluster.test cluster.test\noptions ndots:5\n`)
    assert.deepEqual(await inOrder('redis.cache', 4), {
      error: null,
      addresses: [{ address: '127.0.0.11', family: 4 }],
      asked: ['redis.cache.ns.svc.cluster.test', 'redis.cache.svc.cluster.test'],
    })
    const outside = await inOrder('api.partner.test', 0)
    assert.deepEqual(outside.addresses, [{ address: '127.0.0.12', family: 4 }], 'under ndots: every domain first, then the name itself')
    assert.deepEqual(outside.asked, [
      'api.partner.test.ns.svc.cluster.test',
      'api.partner.test.svc.cluster.test',
      'api.partner.test.cluster.test',
      'api.partner.test',
    ])
    const counts = () => ['api.partner.test', 'api.partner.test.ns.svc.cluster.test'].map((name) => dns.asked.get(name) ?? 0)
    const [itself, searched] = counts()
    assert.deepEqual((await inOrder('api.partner.test.', 4)).addresses, [{ address: '127.0.0.12', family: 4 }])
    assert.deepEqual(counts(), [itself + 1, searched], 'a trailing dot: only the name itself')

    replace(resolvConf, 'search corp.test\noptions ndots:2\n')
    assert.deepEqual((await inOrder('api.partner.test', 4)).addresses, [{ address: '127.0.0.12', family: 4 }], 'ndots dots or more: the name itself first')
    replace(resolvConf, 'domain corp.test\noptions ndots:4\n')
    assert.deepEqual((await inOrder('api.partner.test', 4)).addresses, [{ address: '127.0.0.13', family: 4 }], "under ndots, `domain`'s first")

    // As glibc: SERVFAIL goes on to the next name, a timeout or a refusal ends the search.
    replace(resolvConf, 'search failing.test slow.test\n')
    const timedOut = (await inOrder('db', 4)).error
    assert.deepEqual([timedOut?.code, timedOut?.errno], ['EAI_AGAIN', -3001])
    assert.match(String(timedOut?.message), /^getaddrinfo EAI_AGAIN db \(its DNS servers did not answer: queryA ETIMEOUT db\.slow\.test\)$/)
    assert.deepEqual(dns.order.slice(-2), ['db.failing.test', 'db.slow.test'])
    replace(resolvConf, 'search refused.test corp.test\n')
    assert.equal((await inOrder('db', 4)).error?.code, 'EAI_FAIL')
    replace(resolvConf, 'search failing.test\n')
    assert.equal((await inOrder('gone', 4)).error?.code, 'EAI_AGAIN', 'found nowhere after a SERVFAIL: try again, as getaddrinfo says')
    assert.equal(dns.asked.get('db'), undefined)
    assert.equal(dns.asked.get('db.corp.test'), undefined, 'not asked after the refusal')
    assert.equal(dns.asked.get('gone'), 1, 'asked as it is after the failing domain')
    replace(resolvConf, '')
    assert.deepEqual(asked, [], 'getaddrinfo was never asked')
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
    // No IPv6 entry: DNS is asked, as getaddrinfo asks it.
    assert.equal((await resolved('v4only.test', 6, system)).error?.code, 'ENOTFOUND')
    assert.ok((dns.asked.get('v4only.test') ?? 0) >= 1)
    assert.equal((await resolved('ignored.test', 0, system)).error?.code, 'ENOTFOUND', 'a line without an address is no entry')
    await resolved('localhost', 0, system)
    assert.deepEqual(asked, ['localhost'], "localhost stays getaddrinfo's")
  })

  it('resolveName: reads the hosts file again when it changes, and a name it no longer has goes back to DNS', async () => {
    const { system } = recordingSystem()
    writeHosts('127.0.0.7 aliased.test\n')
    assert.deepEqual((await resolved('aliased.test', 0, system)).addresses, [{ address: '127.0.0.7', family: 4 }])
    writeHosts('127.0.0.8 aliased.test\n')
    assert.deepEqual((await resolved('aliased.test', 0, system)).addresses, [{ address: '127.0.0.8', family: 4 }])
    writeHosts('# emptied\n')
    assert.deepEqual((await resolved('aliased.test', 0, system)).addresses, [{ address: '127.0.0.9', family: 4 }], "DNS's address")
    // Rewritten in place (the same inode), as Docker rewrites the hosts file it bind-mounts.
    writeFileSync(hosts, '127.0.0.15 aliased.test # in place\n')
    assert.deepEqual((await resolved('aliased.test', 0, system)).addresses, [{ address: '127.0.0.15', family: 4 }])
    rmSync(hosts)
    assert.deepEqual((await resolved('aliased.test', 0, system)).addresses, [{ address: '127.0.0.9', family: 4 }], 'no file: no entries')
    writeHosts('')
  })

  it('parseResolvConf: reads the search list and ndots as glibc does: the last search or domain line wins, ndots at most 15, LOCALDOMAIN and RES_OPTIONS over the file', () => {
    const text = ['# comment', 'nameserver 10.0.0.10', 'domain first.test', 'search A.test b.test. a.test', 'options rotate ndots:3 timeout:2', ''].join('\n')
    assert.deepEqual(parseResolvConf(text), { search: ['a.test', 'b.test'], ndots: 3 })
    assert.deepEqual(parseResolvConf('search a.test\ndomain last.test\noptions ndots:99\n'), { search: ['last.test'], ndots: 15 })
    assert.deepEqual(parseResolvConf(text, { LOCALDOMAIN: ' env.test other.test ', RES_OPTIONS: 'ndots:1' }), { search: ['env.test', 'other.test'], ndots: 1 })
    assert.deepEqual(parseResolvConf(''), { search: [], ndots: 1 }, 'no file: no search list, ndots 1')
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

  it("resolveName: fails a name whose DNS servers never answer with getaddrinfo's EAI_AGAIN (try again), c-ares's ETIMEOUT its cause, and does not ask getaddrinfo", async () => {
    const { asked, system } = recordingSystem()
    const { error } = await resolved('black-holed.test', 0, system)
    assert.deepEqual([error?.code, (error?.cause as NodeJS.ErrnoException)?.code], ['EAI_AGAIN', 'ETIMEOUT'])
    assert.match(
      String(error?.message),
      /^getaddrinfo EAI_AGAIN black-holed\.test \(its DNS servers did not answer: query(A|Aaaa) ETIMEOUT black-holed\.test\)$/,
    )
    assert.deepEqual(asked, [])
  })

  it("usePluginDnsServers (PLUGIN_DNS_SERVERS): asks its servers for the name as it is, not under the system's search list", async () => {
    const { system } = recordingSystem()
    replace(resolvConf, 'search svc.cluster.test\noptions ndots:5\n')
    usePluginDnsServers([dns.server])
    try {
      const before = dns.asked.get('redis.cache.svc.cluster.test') ?? 0
      assert.equal((await resolved('redis.cache', 4, system)).error?.code, 'ENOTFOUND')
      assert.equal(dns.asked.get('redis.cache.svc.cluster.test') ?? 0, before)
      assert.deepEqual((await resolved('good.test.', 4, system)).addresses, [{ address: '127.0.0.1', family: 4 }])
    } finally {
      usePluginDnsServers([])
      replace(resolvConf, '')
    }
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
      () => Promise.all(Array.from({ length: 40 }, () => pingOutcome(net.connect(redisPort, 'black-holed.test')).finally(() => settled++))),
      stuck,
    )
    await new Promise((resolve) => setImmediate(resolve))
    const healthyOutcomes = await withAddressPolicy(
      policy,
      'healthy',
      () => Promise.all(Array.from({ length: 5 }, () => pingOutcome(net.connect(redisPort, 'good.test')))),
      healthy,
    )
    assert.deepEqual(healthyOutcomes, Array(5).fill('replied +PONG'))
    assert.equal(settled, 0, "the other plugin's lookups were all still waiting for an answer")
    const failed = await stuckOutcomes
    assert.equal(failed.length, 40)
    for (const text of failed)
      assert.match(text, /^EAI_AGAIN: getaddrinfo EAI_AGAIN black-holed\.test \(its DNS servers did not answer: query(A|Aaaa) ETIMEOUT black-holed\.test\)$/)
  })

  it("withAddressPolicy: a plugin's connect to a name the hosts file has goes to the hosts file's address, not DNS's", async () => {
    const redisPort = Number(new URL(process.env.REDIS_URL!).port)
    writeHosts('127.0.0.1 aliased.test\n')
    try {
      const reached = await withAddressPolicy(
        new AddressPolicy(['127.0.0.0/8']),
        'aliased',
        () => pingOutcome(net.connect(redisPort, 'aliased.test')),
        new SocketCount(),
      )
      assert.equal(reached, 'replied +PONG', 'DNS says 127.0.0.9, where nothing listens')
    } finally {
      writeHosts('')
    }
  })
})
