import assert from 'assert/strict'
import { readdirSync } from 'fs'
import http from 'http'
import net from 'net'
import { MAX_FETCHES_PER_INSTANCE, MAX_SOCKETS_PER_INSTANCE, PluginInstance } from '@plugin-server/plugin-vm'
import { eventually } from '../harness/fleet'
import { loadCode, rejection } from './helpers'
import { pgOpener, SilentPeer } from './held-peers'

/** File descriptors this process holds. */
function fds(): number {
  return readdirSync('/proc/self/fd').length
}

describe('plugin-vm: host sockets a plugin opens', function () {
  this.timeout(30_000)
  let peer: SilentPeer
  const instances: PluginInstance[] = []

  beforeEach(async () => {
    peer = new SilentPeer()
    await peer.start()
  })
  afterEach(async () => {
    for (const instance of instances.splice(0)) instance.dispose()
    await peer.close()
  })

  async function load(code: string, options = {}): Promise<PluginInstance> {
    const { instance } = await loadCode(code, {}, { fetchAllowedHosts: ['127.0.0.0/8'], ...options })
    instances.push(instance)
    return instance
  }
  const opened = (instance: PluginInstance, count: number) => instance.runJob('open', count)
  const refusals = async (instance: PluginInstance) => (await instance.runJob('refusals', null)) as string[]

  it('gives one instance at most MAX_SOCKETS_PER_INSTANCE sockets open at once: connects past it fail naming the limit, other instances are unaffected, and closed sockets make room', async () => {
    const hog = await load(pgOpener(peer.port))
    await opened(hog, 100)
    const refused = await eventually(
      'the connects past the limit rejected',
      () => refusals(hog),
      (r) => r.length >= 100 - MAX_SOCKETS_PER_INSTANCE,
      10_000,
    )
    assert.equal(refused.length, 100 - MAX_SOCKETS_PER_INSTANCE)
    assert.match(refused[0], /^pg: this plugin already has 64 sockets open, the most one plugin instance may have \(MAX_SOCKETS_PER_INSTANCE\)/)
    await eventually(
      'the peer holds the connections within the limit',
      async () => peer.open,
      (n) => n === MAX_SOCKETS_PER_INSTANCE,
      10_000,
    )

    const neighbour = await load(pgOpener(peer.port))
    await opened(neighbour, 5)
    await eventually(
      'another instance connects',
      async () => peer.open,
      (n) => n === MAX_SOCKETS_PER_INSTANCE + 5,
      10_000,
    )
    assert.deepEqual(await refusals(neighbour), [])

    peer.dropAll()
    await eventually(
      'the dropped connections closed',
      async () => peer.open,
      (n) => n === 0,
      10_000,
    )
    const before = (await refusals(hog)).length
    await opened(hog, 10)
    await eventually(
      'the instance connects again once its sockets closed',
      async () => peer.open,
      (n) => n === 10,
      10_000,
    )
    assert.equal((await refusals(hog)).length, before, 'no new refusal: the closed sockets were given back')
  })

  it('queues an instance’s fetches past MAX_FETCHES_PER_INSTANCE instead of refusing them: 100 at once, as processEvent runs a batch, all answered', async () => {
    let inFlight = 0
    let most = 0
    const server = http.createServer((_req, res) => {
      most = Math.max(most, ++inFlight)
      setTimeout(() => {
        inFlight--
        res.end('ok')
      }, 100)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as net.AddressInfo
      const plugin = await load(
        `export const jobs = {
          many: async () => (await Promise.allSettled(Array.from({ length: 100 }, () => fetch('http://127.0.0.1:${port}/').then((r) => r.text())))).map((r) => r.status),
        }`,
      )
      const statuses = (await plugin.runJob('many', null)) as string[]
      assert.deepEqual(new Set(statuses), new Set(['fulfilled']), JSON.stringify(statuses.filter((s) => s !== 'fulfilled').length))
      assert.ok(most <= MAX_FETCHES_PER_INSTANCE, `${most} in flight at once`)
      plugin.dispose()
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('holds a fetch to the call deadline even when the plugin asks for a longer timeout, so one it never awaits does not keep its socket', async () => {
    const plugin = await load(
      `let failure = null
      export const jobs = {
        start: () => void fetch('http://127.0.0.1:${peer.port}/slow', { timeout: 600000 }).catch((e) => (failure = e.message)),
        failure: () => failure,
      }`,
      { timeoutMs: 1000 },
    )
    await plugin.runJob('start', null)
    await eventually(
      'the fetch connected',
      async () => peer.open,
      (n) => n === 1,
      10_000,
    )
    await eventually(
      'the fetch gave up at the call deadline and closed its socket',
      async () => peer.open,
      (n) => n === 0,
      10_000,
    )
    assert.match(String(await plugin.runJob('failure', null)), /network timeout/)
  })

  it('closes the pg sockets a plugin left open when it is disposed, ended ones included, even when the server never closes its side', async () => {
    const stubborn = new SilentPeer(true)
    await stubborn.start()
    try {
      const plugin = await load(pgOpener(stubborn.port))
      // The client side of the connections: the peer's own sockets stay open whatever the client does.
      const baseline = fds()
      const clientFds = async () => fds() - stubborn.open - baseline
      await opened(plugin, 5)
      await plugin.runJob('openAndEnd', null)
      await eventually(
        'the peer holds all six connections',
        async () => stubborn.open,
        (n) => n === 6,
        10_000,
      )
      await eventually(
        'the plugin’s own end() sent its FIN',
        async () => stubborn.ended,
        (n) => n === 1,
        10_000,
      )
      assert.equal(await clientFds(), 6)

      plugin.dispose()
      await eventually(
        'every client said goodbye',
        async () => stubborn.ended,
        (n) => n === 6,
        10_000,
      )
      await eventually('every client socket was destroyed after the grace', clientFds, (n) => n === 0, 10_000)
    } finally {
      await stubborn.close()
    }
  })

  it('closes what a plugin’s top level opened when its load fails, whether its code threw or its declared names were refused', async () => {
    const opens = `import { Client } from 'pg'
      for (let i = 0; i < 3; i++) new Client({ host: '127.0.0.1', port: ${peer.port}, password: 'x' }).connect().catch(() => undefined)`
    const failures = {
      throws: `${opens}\nthrow new Error('no config')`,
      'declares a bad metric name': `${opens}\nexport const metrics = { 'not/a name': 'sum' }`,
    }
    for (const [how, code] of Object.entries(failures)) {
      const error = await rejection(load(code))
      assert.match(error.message, /failed to load/, how)
      await eventually(
        `${how}: the peer saw its connections`,
        async () => peer.accepted,
        (n) => n === 3,
        10_000,
      )
      await eventually(
        `${how}: the connections it opened closed`,
        async () => peer.open,
        (n) => n === 0,
        10_000,
      )
      peer.accepted = 0
    }
  })
})
