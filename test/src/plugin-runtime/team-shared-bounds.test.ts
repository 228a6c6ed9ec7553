import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { ApiRequest, fetchGuard, PluginInstance, ResponseReading } from '@plugin-server/plugin-vm'
import { callPosthogApi, processReserve, SharedLimits, TeamSharedBounds } from '@plugin-server/plugin-runtime'
import { eventually } from '../harness/fleet'
import { loadCode } from '../plugin-vm/helpers'
import { HeldResponses, pgOpener, SilentPeer } from '../plugin-vm/held-peers'

const MiB = 1024 * 1024
const ROOMY: SharedLimits = { teamSockets: 1000, processSockets: 1000, teamHeldBytes: 1024 * MiB, processHeldBytes: 1024 * MiB }

/** A plugin that starts fetches it does not await, and keeps how each ended: the body's size or the error. */
const fetcher = `
  const ended = []
  export const jobs = {
    start(url) { fetch(url).then((r) => r.arrayBuffer()).then((b) => ended.push(b.byteLength), (e) => ended.push(e.message)) },
    ended: () => ended,
  }`

describe('TeamSharedBounds (PLUGIN_TEAM_MAX_SOCKETS, PLUGIN_MAX_SOCKETS, PLUGIN_TEAM_HELD_MAX_MB, PLUGIN_HELD_MAX_MB)', function () {
  this.timeout(60_000)
  const instances: PluginInstance[] = []
  afterEach(() => instances.splice(0).forEach((i) => i.dispose()))

  async function load(code: string, bounds: TeamSharedBounds, teamId: number): Promise<PluginInstance> {
    const { instance } = await loadCode(
      code,
      {},
      { configId: `team ${teamId} #${instances.length}`, fetchAllowedHosts: ['127.0.0.0/8'], shared: bounds.forTeam(teamId) },
    )
    instances.push(instance)
    return instance
  }
  const refusals = async (instance: PluginInstance) => (await instance.runJob('refusals', null)) as string[]

  describe('sockets', () => {
    let peer: SilentPeer
    beforeEach(async () => {
      peer = new SilentPeer()
      await peer.start()
    })
    afterEach(async () => peer.close())

    /** Has `instance` open `count` connections to the peer; once `refused` of them are refused and the peer holds `open` in all, its refusals. */
    async function openSome(instance: PluginInstance, count: number, refused: number, open: number, who: string): Promise<string[]> {
      await instance.runJob('open', count)
      const refusedNow = await eventually(
        `${who}: connects refused`,
        () => refusals(instance),
        (r) => r.length >= refused,
      )
      assert.equal(refusedNow.length, refused)
      await eventually(
        `${who}: the peer holds ${open}`,
        async () => peer.open,
        (n) => n === open,
      )
      return refusedNow
    }

    it("forTeam: stops a team's instances together at the team's limit, naming PLUGIN_TEAM_MAX_SOCKETS, while another team connects; keeps the process's last eighth for teams with under an eighth of a team's limit open; every team's together stop at PLUGIN_MAX_SOCKETS; closed sockets give room back", async () => {
      // The process's last 7 (of 60) are kept for teams with under 5 (of 40) open.
      const bounds = new TeamSharedBounds({ ...ROOMY, teamSockets: 40, processSockets: 60 })
      assert.deepEqual(processReserve(60, 40), { amount: 7, below: 5 })
      // Two configs of team 1, each within its own 64: together 60.
      const team1 = [await load(pgOpener(peer.port), bounds, 1), await load(pgOpener(peer.port), bounds, 1)]
      for (const instance of team1) await instance.runJob('open', 30)
      const refused1 = await eventually(
        "team 1's connects past its limit refused",
        async () => (await Promise.all(team1.map(refusals))).flat(),
        (r) => r.length >= 20,
      )
      assert.equal(refused1.length, 20)
      assert.match(refused1[0], /^pg: team 1's plugins \(PLUGIN_TEAM_MAX_SOCKETS\) already have 40 sockets open, the most they may have together;/)
      await eventually(
        'the peer holds team 1’s 40',
        async () => peer.open,
        (n) => n === 40,
      )

      // Team 2 connects beside team 1 at its limit, up to the reserve.
      const refused2 = await openSome(await load(pgOpener(peer.port), bounds, 2), 15, 2, 53, 'team 2')
      assert.match(
        refused2[0],
        /^pg: this process's plugins, every team's \(PLUGIN_MAX_SOCKETS\) have 53 of 60 sockets open, and the last 7 sockets are kept for teams holding under 5; team 2's plugins \(PLUGIN_TEAM_MAX_SOCKETS\) already have 13;/,
      )

      // A team with few open connects within the reserve, up to its mark.
      const refused3 = await openSome(await load(pgOpener(peer.port), bounds, 3), 7, 2, 58, 'team 3')
      assert.match(refused3[0], /kept for teams holding under 5; team 3's plugins \(PLUGIN_TEAM_MAX_SOCKETS\) already have 5;/)

      // Past the process's limit.
      const refused4 = await openSome(await load(pgOpener(peer.port), bounds, 4), 4, 2, 60, 'team 4')
      assert.match(refused4[0], /^pg: this process's plugins, every team's \(PLUGIN_MAX_SOCKETS\) already have 60 sockets open/)
      assert.equal(bounds.holding().sockets, 60)

      peer.dropAll()
      await eventually(
        'every socket closed and counted as closed',
        async () => bounds.holding().sockets,
        (n) => n === 0,
      )
      const before = (await Promise.all(team1.map(refusals))).flat().length
      await team1[0].runJob('open', 30)
      await eventually(
        'team 1 connects again',
        async () => peer.open,
        (n) => n === 30,
      )
      assert.equal((await Promise.all(team1.map(refusals))).flat().length, before, 'no new refusal: the closed sockets were given back')
    })

    it('forTeam: gives instances of a team loaded at different times one count', async () => {
      const bounds = new TeamSharedBounds({ ...ROOMY, teamSockets: 10 })
      const first = await load(pgOpener(peer.port), bounds, 7)
      await first.runJob('open', 8)
      await eventually(
        '8 open',
        async () => peer.open,
        (n) => n === 8,
      )
      const second = await load(pgOpener(peer.port), bounds, 7)
      await second.runJob('open', 8)
      const refused = await eventually(
        'the later instance refused past the team’s 10',
        () => refusals(second),
        (r) => r.length >= 6,
      )
      assert.equal(refused.length, 6)
      assert.equal(bounds.forTeam(7).sockets.open, 10, 'forTeam hands out the count the live instances use')
    })
  })

  describe('posthog.api', () => {
    it("forTeam: counts each posthog.api request in flight as a socket of the instance and its team (Node's pooled fetch is outside the socket guard), refusing past the team's limit", async () => {
      const held: http.ServerResponse[] = []
      const server = http.createServer((_req, res) => held.push(res))
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      try {
        const defaults = {
          host: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
          personalApiKey: 'phx_operator',
          projectApiKey: 'phc_team',
          guard: fetchGuard(),
        }
        const bounds = new TeamSharedBounds({ ...ROOMY, teamSockets: 40 })
        const code = `
          const ended = []
          export const jobs = {
            start: (n) => { for (let i = 0; i < n; i++) posthog.api.get('/held').then((r) => ended.push(r.status), (e) => ended.push(e.message)) },
            ended: () => ended,
          }`
        const api = (request: ApiRequest, reading: ResponseReading) => callPosthogApi(request, defaults, reading)
        const team: PluginInstance[] = []
        for (let i = 0; i < 2; i++) team.push((await loadCode(code, { api }, { configId: i, shared: bounds.forTeam(1) })).instance)
        instances.push(...team)
        for (const instance of team) await instance.runJob('start', 30)
        const ended = async () => (await Promise.all(team.map((i) => i.runJob('ended', null)))).flat() as (number | string)[]
        const refused = await eventually('the requests past the team’s 40 refused', ended, (e) => e.length >= 20)
        assert.equal(refused.length, 20)
        assert.match(String(refused[0]), /^posthog\.api: team 1's plugins \(PLUGIN_TEAM_MAX_SOCKETS\) already have 40 sockets open/)
        await eventually(
          'the server holds the 40 let through',
          async () => held.length,
          (n) => n === 40,
        )
        assert.equal(bounds.holding().sockets, 40)
        for (const res of held.splice(0)) res.end('{}')
        await eventually('every request answered', ended, (e) => e.length === 60)
        assert.equal(bounds.holding().sockets, 0, 'answered requests give their sockets back')
      } finally {
        server.closeAllConnections()
        await new Promise((resolve) => server.close(resolve))
      }
    })
  })

  describe('bytes held on the host (responses being read, cache values read, host work inputs)', () => {
    /** Reads two values of 800 KB at once, answering their lengths. */
    const twoValuesReader = `export async function runEveryMinute(_none, { cache }) {
      await cache.set('a', 'x'.repeat(800000))
      await cache.set('b', 'y'.repeat(800000))
      return (await Promise.all([cache.get('a'), cache.get('b')])).map((value) => value.length)
    }`
    let server: HeldResponses
    beforeEach(async () => {
      server = new HeldResponses(3 * MiB)
      await server.start()
    })
    afterEach(async () => server.close())

    const ended = async (instance: PluginInstance) => (await instance.runJob('ended', null)) as (number | string)[]
    const heldReaches = (bounds: TeamSharedBounds, bytes: number, what: string) =>
      eventually(
        what,
        async () => bounds.holding().heldBytes,
        (n) => n === bytes,
      )
    /** How the instance's one fetch ended: its body's size or its error. */
    const endOf = async (instance: PluginInstance, what: string) =>
      (
        await eventually(
          what,
          () => ended(instance),
          (e) => e.length === 1,
        )
      )[0]
    /** A fetch of team 1's whose 3 MiB response is held, unfinished, until `server.finish()`. */
    async function heldResponse(bounds: TeamSharedBounds): Promise<PluginInstance> {
      const fetching = await load(fetcher, bounds, 1)
      await fetching.runJob('start', server.url)
      await heldReaches(bounds, 3 * MiB, "team 1's response held")
      return fetching
    }

    it("forTeam: stops a response of a team whose instances' responses being read hold PLUGIN_TEAM_HELD_MAX_MB, while another team's is read; keeps the last eighth of PLUGIN_HELD_MAX_MB for teams holding under an eighth of a team's limit", async () => {
      // The process's last 1 MiB (of 8) is kept for teams holding under 512 KiB (of 4 MiB).
      const bounds = new TeamSharedBounds({ ...ROOMY, teamHeldBytes: 4 * MiB, processHeldBytes: 8 * MiB })
      const [a1, a2, b, c] = [await load(fetcher, bounds, 1), await load(fetcher, bounds, 1), await load(fetcher, bounds, 2), await load(fetcher, bounds, 3)]
      const d = await load(twoValuesReader, bounds, 4)

      await a1.runJob('start', server.url)
      await heldReaches(bounds, 3 * MiB, "team 1's first response held")
      await a2.runJob('start', server.url)
      const stopped = await endOf(a2, "team 1's second response stopped")
      assert.match(
        String(stopped),
        /^fetch of http:\/\/127\.0\.0\.1:\d+\/… stopped: what the host holds for team 1's plugins \(responses being read, cache values read and not yet received, uploads not yet sent, host work inputs\) would pass 4194304 bytes \(PLUGIN_TEAM_HELD_MAX_MB\)$/,
      )
      assert.equal(bounds.holding().heldBytes, 3 * MiB, 'what the stopped response had read is given back')

      await b.runJob('start', server.url)
      await heldReaches(bounds, 6 * MiB, "team 2's response held beside team 1's")
      await c.runJob('start', server.url)
      const intoReserve = await endOf(c, "team 3's response stopped")
      assert.match(
        String(intoReserve),
        /stopped: what the host holds for every team's plugins \(.*\) holds \d+ of 8388608 bytes, and the last 1048576 bytes are kept for teams holding under 524288; what the host holds for team 3's plugins \(.*\) is already \d+ bytes \(PLUGIN_HELD_MAX_MB\)$/,
      )
      assert.equal(bounds.holding().heldBytes, 6 * MiB, "what team 3's response had read is given back")
      // 6 MiB held: a team holding nothing (under the mark) reads 1.6 MB at once, reaching 0.53 MiB into the reserve.
      assert.deepEqual(await d.call('runEveryMinute', [null]), [800_000, 800_000])

      server.finish()
      assert.equal(await endOf(a1, 'the held responses end'), 3 * MiB)
      assert.equal(await endOf(b, "team 2's too"), 3 * MiB)
      assert.equal(bounds.holding().heldBytes, 0, 'nothing is counted once read')
    })

    it("forTeam: refuses a cache.get what its team's held bytes leave no room for, naming PLUGIN_TEAM_HELD_MAX_MB, while another team's instance reads the value", async () => {
      const bounds = new TeamSharedBounds({ ...ROOMY, teamHeldBytes: 4 * MiB })
      // Two values of 1 MB read at once: the team's 4 MiB less the 3 MiB response being read leaves room for one.
      const reader = `export async function runEveryMinute(_none, { cache }) {
        await cache.set('a', 'x'.repeat(1000000))
        await cache.set('b', 'y'.repeat(1000000))
        return (await Promise.allSettled([cache.get('a'), cache.get('b')])).map((r) => (r.status === 'fulfilled' ? r.value.length : r.reason.message))
      }`
      const read = (instance: PluginInstance) => instance.call('runEveryMinute', [null])
      const fetching = await heldResponse(bounds)
      const [sameTeam, otherTeam] = [await load(reader, bounds, 1), await load(reader, bounds, 2)]
      const [a, b] = (await read(sameTeam)) as [number, string]
      assert.equal(a, 1_000_000)
      assert.match(b, /^cache\.get\("b"\) refused: what the host holds for team 1's plugins \(.*\) would pass 4194304 bytes \(PLUGIN_TEAM_HELD_MAX_MB\)$/)
      assert.deepEqual(await read(otherTeam), [1_000_000, 1_000_000])
      server.finish()
      await endOf(fetching, 'the response read')
      assert.equal(bounds.holding().heldBytes, 0, 'nothing is counted once every read is received')
      assert.deepEqual(await read(sameTeam), [1_000_000, 1_000_000], 'the team reads both once its response is done')
    })

    it("forTeam: refuses host work (zlib, hashes, jsonwebtoken) whose input its team's held bytes leave no room for, naming PLUGIN_TEAM_HELD_MAX_MB; another team's runs", async () => {
      const bounds = new TeamSharedBounds({ ...ROOMY, teamHeldBytes: 4 * MiB })
      // 2 MiB to gzip: past what runs inline, so it waits for a host work thread with its input held.
      const gzipper = `import zlib from 'zlib'
        export function runEveryMinute() {
          try { return zlib.gzipSync(Buffer.alloc(2 * 1024 * 1024, 1)).length > 0 } catch (e) { return e.message }
        }`
      const fetching = await heldResponse(bounds)
      const [sameTeam, otherTeam] = [await load(gzipper, bounds, 1), await load(gzipper, bounds, 2)]
      assert.match(
        String(await sameTeam.call('runEveryMinute', [])),
        /^zlib\.gzip: refused: what the host holds for team 1's plugins \(.*\) would pass 4194304 bytes \(PLUGIN_TEAM_HELD_MAX_MB\)$/,
      )
      assert.equal(await otherTeam.call('runEveryMinute', []), true)
      assert.equal(bounds.holding().heldBytes, 3 * MiB, "the other team's input was given back once its work was done")
      server.finish()
      await endOf(fetching, 'the response read')
      assert.equal(await sameTeam.call('runEveryMinute', []), true, 'the team runs it once its response is done')
    })
  })
})
