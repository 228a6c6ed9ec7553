import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { ApiRequest, fetchGuard, PluginInstance, ResponseReading } from '@plugin-server/plugin-vm'
import { callPosthogApi, SharedLimits, TeamSharedBounds } from '@plugin-server/plugin-runtime'
import { eventually } from '../harness/fleet'
import { loadCode } from '../plugin-vm/helpers'
import { pgOpener, SilentPeer } from '../plugin-vm/silent-peer'

const MiB = 1024 * 1024
const ROOMY: SharedLimits = { teamSockets: 1000, processSockets: 1000, teamResponseBytes: 1024 * MiB, processResponseBytes: 1024 * MiB }

/** A plugin that starts fetches it does not await, and keeps how each ended: the body's size or the error. */
const fetcher = `
  const ended = []
  export const jobs = {
    start(url) { fetch(url).then((r) => r.arrayBuffer()).then((b) => ended.push(b.byteLength), (e) => ended.push(e.message)) },
    ended: () => ended,
  }`

/** Answers each request with `bytes` at once, then holds the response open until `finish`. */
class HeldResponses {
  private readonly open: http.ServerResponse[] = []
  private readonly server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    res.write(Buffer.alloc(this.bytes, 1))
    this.open.push(res)
  })
  url = ''

  constructor(private readonly bytes: number) {}

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}/`
  }

  finish(): void {
    for (const res of this.open.splice(0)) res.end()
  }

  async close(): Promise<void> {
    this.finish()
    this.server.closeAllConnections()
    await new Promise((resolve) => this.server.close(resolve))
  }
}

describe('TeamSharedBounds (PLUGIN_TEAM_MAX_SOCKETS, PLUGIN_MAX_SOCKETS, PLUGIN_TEAM_RESPONSES_MAX_MB, PLUGIN_RESPONSES_MAX_MB)', function () {
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

    it("forTeam: stops a team's instances together at the team's limit, naming PLUGIN_TEAM_MAX_SOCKETS, while another team connects; every team's together stop at PLUGIN_MAX_SOCKETS; closed sockets give room back", async () => {
      const bounds = new TeamSharedBounds({ ...ROOMY, teamSockets: 40, processSockets: 60 })
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

      const team2 = await load(pgOpener(peer.port), bounds, 2)
      await team2.runJob('open', 15)
      await eventually(
        'another team connects',
        async () => peer.open,
        (n) => n === 55,
      )
      assert.deepEqual(await refusals(team2), [], 'team 2 is not held back by team 1 being at its limit')

      const team3 = await load(pgOpener(peer.port), bounds, 3)
      await team3.runJob('open', 10)
      const refused3 = await eventually(
        'connects past the process limit refused',
        () => refusals(team3),
        (r) => r.length >= 5,
      )
      assert.equal(refused3.length, 5)
      assert.match(refused3[0], /^pg: this process's plugins, every team's \(PLUGIN_MAX_SOCKETS\) already have 60 sockets open/)
      assert.equal(bounds.held().sockets, 60)

      peer.dropAll()
      await eventually(
        'every socket closed and counted as closed',
        async () => bounds.held().sockets,
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
        assert.equal(bounds.held().sockets, 40)
        for (const res of held.splice(0)) res.end('{}')
        await eventually('every request answered', ended, (e) => e.length === 60)
        assert.equal(bounds.held().sockets, 0, 'answered requests give their sockets back')
      } finally {
        server.closeAllConnections()
        await new Promise((resolve) => server.close(resolve))
      }
    })
  })

  describe('responses being read', () => {
    let server: HeldResponses
    beforeEach(async () => {
      server = new HeldResponses(3 * MiB)
      await server.start()
    })
    afterEach(async () => server.close())

    const ended = async (instance: PluginInstance) => (await instance.runJob('ended', null)) as (number | string)[]

    it("forTeam: stops a response of a team whose instances' responses being read hold PLUGIN_TEAM_RESPONSES_MAX_MB, while another team's is read; every team's stop at PLUGIN_RESPONSES_MAX_MB", async () => {
      const bounds = new TeamSharedBounds({ ...ROOMY, teamResponseBytes: 4 * MiB, processResponseBytes: 8 * MiB })
      const [a1, a2, b, c] = [await load(fetcher, bounds, 1), await load(fetcher, bounds, 1), await load(fetcher, bounds, 2), await load(fetcher, bounds, 3)]

      await a1.runJob('start', server.url)
      await eventually(
        "team 1's first response held",
        async () => bounds.held().responseBytes,
        (n) => n === 3 * MiB,
      )
      await a2.runJob('start', server.url)
      const [stopped] = await eventually(
        "team 1's second response stopped",
        () => ended(a2),
        (e) => e.length === 1,
      )
      assert.match(
        String(stopped),
        /^fetch of http:\/\/127\.0\.0\.1:\d+\/… stopped: team 1's plugins' responses being read \(PLUGIN_TEAM_RESPONSES_MAX_MB\) hold over 4194304 bytes together$/,
      )
      assert.equal(bounds.held().responseBytes, 3 * MiB, 'what the stopped response had read is given back')

      await b.runJob('start', server.url)
      await eventually(
        "team 2's response held beside team 1's",
        async () => bounds.held().responseBytes,
        (n) => n === 6 * MiB,
      )
      await c.runJob('start', server.url)
      const [overProcess] = await eventually(
        "team 3's response stopped",
        () => ended(c),
        (e) => e.length === 1,
      )
      assert.match(
        String(overProcess),
        /stopped: this process's plugins' responses being read, every team's \(PLUGIN_RESPONSES_MAX_MB\), hold over 8388608 bytes together$/,
      )

      server.finish()
      assert.deepEqual(
        await eventually(
          'the held responses end',
          () => ended(a1),
          (e) => e.length === 1,
        ),
        [3 * MiB],
      )
      assert.deepEqual(
        await eventually(
          "team 2's too",
          () => ended(b),
          (e) => e.length === 1,
        ),
        [3 * MiB],
      )
      assert.equal(bounds.held().responseBytes, 0, 'nothing is counted once read')
    })
  })
})
