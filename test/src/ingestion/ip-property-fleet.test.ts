import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createTeam } from '@plugin-server/db'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { enablePlugin, managementContext } from '../harness/plugins'

interface StoredRow {
  event: string
  ip: string | null
  properties: Record<string, unknown>
}

describe('the client address as PostHog stored it ($ip), in a running fleet', function () {
  this.timeout(120_000)
  let fleet: TestFleet
  let management: ReturnType<typeof managementContext>
  let sink: http.Server
  let sinkUrl: string
  const exported: { event: { event: string; properties: Record<string, unknown> } }[] = []

  before(async () => {
    fleet = await createTestFleet()
    management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
    sink = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        exported.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as (typeof exported)[number])
        res.end('ok')
      })
    })
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve))
    sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/events`
    await fleet.start('capture')
    await fleet.start('ingest-worker')
  })
  after(async () => {
    await management.close()
    await fleet.close()
    await new Promise((resolve) => sink.close(resolve))
  })

  const send = async (token: string, batch: object[]): Promise<void> => {
    const res = await fetch(`${fleet.captureUrl}/batch`, { method: 'POST', body: JSON.stringify({ api_key: token, batch }) })
    assert.equal(res.status, 200)
  }
  const stored = (run: string, count: number) =>
    eventually(
      `${count} events stored`,
      async () => (await fleet.db.pool.query<StoredRow>(`SELECT event, ip, properties FROM events WHERE properties->>'run' = $1 ORDER BY event`, [run])).rows,
      (rows) => rows.length === count,
    )

  it('stores the address as $ip after the plugins and hands it to onEvent; keeps a $ip the client sent; leaves it out when a plugin set event.ip to null or deleted it', async () => {
    await enablePlugin(management, fleet.team.id, 'ip-reader')
    await enablePlugin(management, fleet.team.id, 'export-on-event', { url: sinkUrl })
    await fleet.start('exporter')
    const run = randomUUID()
    await send(fleet.team.api_token, [
      { event: 'a plain', distinct_id: 'u', properties: { run } },
      { event: 'b own $ip', distinct_id: 'u', properties: { run, $ip: '198.51.100.9' } },
      { event: 'c ip removed', distinct_id: 'u', properties: { run, drop_ip: true } },
      { event: 'd ip deleted', distinct_id: 'u', properties: { run, delete_ip: true } },
    ])
    const [plain, own, removed, deleted] = await stored(run, 4)
    assert.match(plain.ip ?? '', /127\.0\.0\.1$/, 'capture took the client address')
    assert.deepEqual([plain.properties.seen_ip, plain.properties.$ip], [plain.ip, plain.ip], 'the plugin saw event.ip; $ip stored after it')
    assert.equal(own.properties.$ip, '198.51.100.9', "the client's own $ip is kept")
    assert.equal(removed.ip, null)
    assert.equal(Object.hasOwn(removed.properties, '$ip'), false, 'no $ip for an event whose plugin removed its address')
    assert.deepEqual([deleted.ip, Object.hasOwn(deleted.properties, '$ip')], [null, false], 'nor for one whose plugin deleted event.ip')
    const onEvent = await eventually(
      'onEvent got the plain event',
      async () => exported.find((e) => e.event.properties.run === run && e.event.event.startsWith('a plain')),
      (e) => e !== undefined,
    )
    assert.equal(onEvent!.event.properties.$ip, plain.ip, 'exporters get $ip as stored')
  })

  it('keeps no address for a team that anonymises IPs: its plugins get event.ip null, and nothing is stored as ip or $ip', async () => {
    const team = await createTeam(fleet.db.pool, 'anonymising', undefined, { anonymizeIps: true })
    await enablePlugin(management, team.id, 'ip-reader')
    const run = randomUUID()
    await send(team.api_token, [{ event: 'private', distinct_id: 'u', properties: { run } }])
    const [row] = await stored(run, 1)
    assert.deepEqual([row.ip, row.properties.seen_ip, Object.hasOwn(row.properties, '$ip')], [null, null, false])
  })
})
