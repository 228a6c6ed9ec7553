import assert from 'node:assert/strict'
import { createTeam, Team } from '@plugin-server/db'
import { eventually } from '../harness/fleet'
import { enablePlugin, writePlugin } from '../harness/plugins'
import { HeldResponses, SilentPeer } from '../plugin-vm/held-peers'
// The soak run is its own project (soak/), built before the tests; src and dist sit at the same depth.
import { metricValue } from '../../../soak/dist/prom-text'
import { DEADLINES, healthyEvents, HostileFleet, MIXING } from './hostile-fleet-fixture'

const TEAM_LIMIT = 100
const PROCESS_LIMIT = 160
/** The process's last eighth (20) is kept for teams with under an eighth of TEAM_LIMIT (12) open. */
const RESERVE_FROM = 140

/**
 * A plugin whose first processEvent opens `count` pg clients to the peer (which never answers) and
 * keeps them; each connect refused is logged. Each config within its own 64 sockets.
 */
const holder = (name: string, port: number, count: number): string =>
  writePlugin(
    name,
    `import { Client } from 'pg'
     let opened = false
     export function processEvent(event) {
       if (!opened) {
         opened = true
         for (let i = 0; i < ${count}; i++) {
           new Client({ host: '127.0.0.1', port: ${port}, password: 'x' }).connect().catch((e) => console.log('refused: ' + e.message))
         }
       }
       event.properties.held = true
       return event
     }`,
  )

describe('security: plugins holding sockets and host memory in a running fleet', function () {
  this.timeout(120_000)

  describe('sockets (PLUGIN_TEAM_MAX_SOCKETS, PLUGIN_MAX_SOCKETS)', () => {
    let hf: HostileFleet
    let peer: SilentPeer
    const teams: { team: Team; configIds: number[] }[] = []

    before(async () => {
      peer = new SilentPeer()
      await peer.start()
      hf = await HostileFleet.create({
        ...DEADLINES,
        ...MIXING,
        PLUGIN_FETCH_ALLOWED_HOSTS: '127.0.0.0/8',
        PLUGIN_TEAM_MAX_SOCKETS: String(TEAM_LIMIT),
        PLUGIN_MAX_SOCKETS: String(PROCESS_LIMIT),
      })
      // 4 configs of 60 sockets (240 unbounded), then a team of 40, one of 20, one of 5.
      for (const [name, configs, each] of [
        ['holders', 4, 60],
        ['neighbour', 1, 40],
        ['latecomer', 1, 20],
        ['small', 1, 5],
      ] as const) {
        const team = await createTeam(hf.pool, name)
        const configIds: number[] = []
        for (let i = 0; i < configs; i++) {
          configIds.push((await enablePlugin(hf.managementContext(), team.id, holder(`${name}-holder-${i}`, peer.port, each), {}, { order: i + 1 })).id)
        }
        teams.push({ team, configIds })
      }
      await hf.start(['capture', 'ingest-worker'])
    })
    after(async () => {
      await hf?.close()
      await peer?.close()
    })

    /** Refusals logged by the team's configs whose text matches `pattern`. */
    async function refusals(configIds: number[], pattern: RegExp): Promise<number> {
      const logs = await Promise.all(configIds.map((id) => hf.logs(id)))
      return logs.flat().filter((row) => /^refused: /.test(row.message) && pattern.test(row.message)).length
    }

    /** Sends the team's events and the healthy team's at once, and waits until both are stored. */
    async function round(team: Team, tag: string): Promise<void> {
      const since = Date.now()
      const [mine, healthy] = await Promise.all([hf.send(team, healthyEvents(5, tag)), hf.send(hf.healthyTeam, healthyEvents(10))])
      await hf.waitStored(hf.healthyTeam.id, healthy, since)
      await hf.waitStored(team.id, mine, since, 30_000)
    }

    it("refuses a team's sockets past its limit, and keeps the process's last eighth for teams with few open, naming each in the plugin's logs, while another team connects and every team's events are stored", async () => {
      const [holders, neighbour, latecomer, small] = teams
      await round(holders.team, 'holders')
      await eventually(
        'the holding team has its limit open at the peer',
        async () => peer.open,
        (n) => n === TEAM_LIMIT,
      )
      const overTeam = /: team \d+'s plugins \(PLUGIN_TEAM_MAX_SOCKETS\) already have 100 sockets open, the most they may have together;/
      await eventually(
        "the holding team's connects past its limit refused",
        () => refusals(holders.configIds, overTeam),
        (n) => n === 4 * 60 - TEAM_LIMIT,
      )

      await round(neighbour.team, 'neighbour')
      await eventually(
        'another team connects beside it',
        async () => peer.open,
        (n) => n === TEAM_LIMIT + 40,
      )
      assert.equal(await refusals(neighbour.configIds, /./), 0, 'nothing of the other team is refused')

      // Before the reserve, this team took the process's last 20 and a fourth team got none.
      await round(latecomer.team, 'latecomer')
      await eventually(
        'a team past the reserve’s mark connects only up to it',
        async () => peer.open,
        (n) => n === RESERVE_FROM + 12,
      )
      const intoReserve =
        /: this process's plugins, every team's \(PLUGIN_MAX_SOCKETS\) have 152 of 160 sockets open, and the last 20 sockets are kept for teams holding under 12; team \d+'s plugins \(PLUGIN_TEAM_MAX_SOCKETS\) already have 12;/
      await eventually(
        'its connects past the mark refused',
        () => refusals(latecomer.configIds, intoReserve),
        (n) => n === 8,
      )

      await round(small.team, 'small')
      await eventually(
        'a team with few open still connects, within the reserve',
        async () => peer.open,
        (n) => n === RESERVE_FROM + 12 + 5,
      )
      assert.equal(await refusals(small.configIds, /./), 0, 'nothing of the small team is refused')

      const metrics = await hf.worker().metrics()
      assert.equal(metricValue(metrics, 'plugin_sockets_open'), RESERVE_FROM + 17, 'the worker reports what its plugins hold')

      // The worker's own Redis and Postgres connections are not plugins' sockets: events still flow.
      await round(hf.healthyTeam, 'after')
      assert.equal(peer.open, RESERVE_FROM + 17, 'no socket past the limits was opened meanwhile')
      const healthyErrors = (await hf.logs(hf.healthyConfigId)).filter((r) => r.type === 'ERROR')
      assert.deepEqual(healthyErrors, [], 'nothing is logged as an error of the healthy team')
      await hf.assertAllAlive()
    })
  })

  describe('bytes held on the host (PLUGIN_TEAM_HELD_MAX_MB)', () => {
    const MiB = 1024 * 1024
    let hf: HostileFleet
    let server: HeldResponses
    const teams: { team: Team; configIds: number[] }[] = []

    /** A plugin whose first processEvent fetches a body it never gets to the end of (the server holds it open), logging how the fetch ended. */
    const reader = (name: string, url: string): string =>
      writePlugin(
        name,
        `let started = false
         export function processEvent(event) {
           if (!started) {
             started = true
             fetch('${url}').then((r) => r.arrayBuffer()).then((b) => console.log('read ' + b.byteLength), (e) => console.log('refused: ' + e.message))
           }
           return event
         }`,
      )

    before(async () => {
      server = new HeldResponses(10 * MiB)
      await server.start()
      // The fetches outlive their calls: the call deadline, which also bounds them, is long here.
      hf = await HostileFleet.create({
        ...DEADLINES,
        ...MIXING,
        PLUGIN_TIMEOUT_MS: '60000',
        PLUGIN_FETCH_ALLOWED_HOSTS: '127.0.0.0/8',
        PLUGIN_TEAM_HELD_MAX_MB: '25',
      })
      for (const [name, configs] of [
        ['readers', 4],
        ['neighbour', 1],
      ] as const) {
        const team = await createTeam(hf.pool, name)
        const configIds: number[] = []
        for (let i = 0; i < configs; i++)
          configIds.push((await enablePlugin(hf.managementContext(), team.id, reader(`${name}-reader-${i}`, server.url), {}, { order: i + 1 })).id)
        teams.push({ team, configIds })
      }
      await hf.start(['capture', 'ingest-worker'])
    })
    after(async () => {
      await hf?.close()
      await server?.close()
    })

    const lines = async (configIds: number[], pattern: RegExp) =>
      (await Promise.all(configIds.map((id) => hf.logs(id)))).flat().filter((r) => pattern.test(r.message))
    const held = async () => metricValue(await hf.worker().metrics(), 'plugin_host_held_bytes') ?? Number.NaN

    it("holds a team's responses being read to its limit, stopping the rest with an error naming PLUGIN_TEAM_HELD_MAX_MB, while another team's response is read and every team's events are stored", async () => {
      const [readers, neighbour] = teams
      const since = Date.now()
      const [mine, healthy] = await Promise.all([hf.send(readers.team, healthyEvents(5, 'readers')), hf.send(hf.healthyTeam, healthyEvents(10))])
      await hf.waitStored(hf.healthyTeam.id, healthy, since)
      await hf.waitStored(readers.team.id, mine, since, 30_000)
      // Four 10 MiB bodies: two fit in 25 MiB; the others are stopped as they pass it.
      const overTeam =
        /^refused: fetch of http:\/\/127\.0\.0\.1:\d+\/… stopped: what the host holds for team \d+'s plugins \(.*\) would pass 26214400 bytes \(PLUGIN_TEAM_HELD_MAX_MB\)$/
      await eventually(
        'two of the team’s responses stopped',
        async () => (await lines(readers.configIds, overTeam)).length,
        (n) => n === 2,
      )
      await eventually('the worker holds the two others', held, (n) => n === 20 * MiB)

      await hf.send(neighbour.team, healthyEvents(5, 'neighbour'))
      await eventually("the other team's response held beside them", held, (n) => n === 30 * MiB)
      assert.deepEqual(await lines(neighbour.configIds, /^refused: /), [], 'nothing of the other team is stopped')

      server.finish()
      await eventually(
        'the three held responses read to the end',
        async () => (await lines([...readers.configIds, ...neighbour.configIds], /^read 10485760$/)).length,
        (n) => n === 3,
      )
      await eventually('nothing held once read', held, (n) => n === 0)
      await hf.assertAllAlive()
    })
  })
})
