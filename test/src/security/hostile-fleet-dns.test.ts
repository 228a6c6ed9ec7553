import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createTeam, Team } from '@plugin-server/db'
import { DnsServer } from '../harness/dns-server'
import { eventually } from '../harness/fleet'
import { enablePlugin, writePlugin } from '../harness/plugins'
import { healthyEvents, HostileFleet, MIXING } from './hostile-fleet-fixture'

/** How long the stuck team's batch keeps asking for the black-holed name: its processEvent deadline. */
const STUCK_FOR_MS = 15_000

describe("security: a plugin's names whose DNS servers never answer, in a running fleet (PLUGIN_DNS_SERVERS)", function () {
  this.timeout(120_000)
  let hf: HostileFleet
  let dns: DnsServer
  let site: http.Server
  let stuck: { team: Team; configId: number }
  let fetching: { team: Team; configId: number }

  before(async () => {
    dns = new DnsServer({ 'site.test': '127.0.0.1' }, new Set(['black-holed.test']))
    await dns.start()
    site = http.createServer((_req, res) => res.end('reached'))
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve))
    hf = await HostileFleet.create({
      ...MIXING,
      PLUGIN_TIMEOUT_MS: String(STUCK_FOR_MS + 5000),
      PLUGIN_PROCESS_EVENT_TIMEOUT_MS: String(STUCK_FOR_MS),
      PLUGIN_FETCH_ALLOWED_HOSTS: '127.0.0.0/8',
      PLUGIN_DNS_SERVERS: dns.server,
    })
    // Every event asks for the black-holed name again as soon as the last lookup gave up, until its batch's deadline.
    const asker = writePlugin(
      'black-holed asker',
      `export async function processEvent(event) {
         for (;;) await fetch('http://black-holed.test/').catch(() => undefined)
       }`,
    )
    const reacher = writePlugin(
      'site reacher',
      `export async function processEvent(event) {
         event.properties.site = await (await fetch('http://site.test:${(site.address() as AddressInfo).port}/')).text()
         return event
       }`,
    )
    const stuckTeam = await createTeam(hf.pool, 'black-holed names')
    stuck = { team: stuckTeam, configId: (await enablePlugin(hf.managementContext(), stuckTeam.id, asker, {}, { order: 1 })).id }
    const fetchingTeam = await createTeam(hf.pool, 'resolvable names')
    fetching = { team: fetchingTeam, configId: (await enablePlugin(hf.managementContext(), fetchingTeam.id, reacher, {}, { order: 1 })).id }
    await hf.start(['capture', 'ingest-worker'])
  })
  after(async () => {
    await hf?.close()
    await dns?.close()
    site?.closeAllConnections()
    await new Promise((resolve) => site?.close(resolve))
  })

  it("resolves another team's names and stores its events while one team's plugin keeps 100 lookups of a black-holed name waiting; that team's events are stored too", async () => {
    const since = Date.now()
    const stuckEvents = await hf.send(stuck.team, healthyEvents(100, 'stuck'), { flushAt: 100 })
    await eventually(
      'the stuck team’s plugin asking for the black-holed name, many at once',
      async () => dns.asked.get('black-holed.test') ?? 0,
      (n) => n >= 100,
    )
    // Through getaddrinfo these lookups held both of the plugins' lookup slots until the batch's deadline.
    const reached = await hf.send(fetching.team, healthyEvents(10, 'reacher'))
    await hf.waitStored(fetching.team.id, reached, Date.now())
    const rows = await hf.rows(fetching.team.id)
    assert.deepEqual(
      rows.map((r) => r.properties.site),
      Array(10).fill('reached'),
      "the other team's plugin resolved its name and fetched",
    )
    assert.equal((await hf.rows(stuck.team.id)).length, 0, 'meanwhile the stuck team’s batch was still waiting for its lookups')
    assert.ok(Date.now() - since < STUCK_FOR_MS, 'all of it within the stuck batch’s deadline')

    await hf.waitStored(stuck.team.id, stuckEvents, since, STUCK_FOR_MS + 30_000)
    const healthy = await hf.send(hf.healthyTeam, healthyEvents(10))
    await hf.waitStored(hf.healthyTeam.id, healthy, Date.now())
    await hf.assertAllAlive()
  })
})
