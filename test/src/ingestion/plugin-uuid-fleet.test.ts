import assert from 'node:assert/strict'
import { createHash, randomUUID } from 'node:crypto'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { enablePlugin, managementContext } from '../harness/plugins'

/** The fixture's uuid for an event (test/fixtures/plugins/uuid-from-event), computed here with node's own crypto. */
function uuidV5(name: string): string {
  const bytes = createHash('sha1').update(Buffer.from('6ba7b8109dad11d180b400c04fd430c8', 'hex')).update(name).digest().subarray(0, 16)
  bytes[6] = (bytes[6] & 0x0f) | 0x50
  bytes[8] = (bytes[8] & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

describe('a plugin that sets event uuids (as PostHog’s Unduplicates app does) in a running fleet', function () {
  this.timeout(120_000)
  let fleet: TestFleet
  let management: ReturnType<typeof managementContext>

  before(async () => {
    fleet = await createTestFleet()
    management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
  })
  after(async () => {
    await management.close()
    await fleet.close()
  })

  it('stores a client’s two sends of one event once, under the plugin’s uuid, and keeps the uuid it gives that is not a UUID, saying so in its logs', async () => {
    const config = await enablePlugin(management, fleet.team.id, 'uuid-from-event')
    await fleet.start('capture')
    await fleet.start('ingest-worker')
    const run = randomUUID()
    const timestamp = '2024-05-01T12:00:00.000Z'
    const signup = { event: 'signed up', distinct_id: `user-${run}`, timestamp, properties: { run } }
    const badUuid = randomUUID()
    const send = async (batch: object[]): Promise<void> => {
      const res = await fetch(`${fleet.captureUrl}/batch`, { method: 'POST', body: JSON.stringify({ api_key: fleet.team.api_token, batch }) })
      assert.equal(res.status, 200)
    }
    // The client's retry: the same event under a new client uuid, in a request of its own.
    await send([
      { ...signup, uuid: randomUUID() },
      { event: 'first send', distinct_id: 'u', timestamp, properties: { run } },
    ])
    await send([
      { ...signup, uuid: randomUUID() },
      { event: 'bad uuid', distinct_id: 'u', timestamp, uuid: badUuid, properties: { run } },
    ])
    const rows = await eventually(
      'both sends are stored',
      async () =>
        (await fleet.db.pool.query<{ uuid: string; event: string }>(`SELECT uuid, event FROM events WHERE properties->>'run' = $1 ORDER BY event`, [run])).rows,
      (r) => r.some((e) => e.event === 'first send') && r.some((e) => e.event === 'bad uuid'),
    )
    assert.deepEqual(
      rows.filter((r) => r.event === 'signed up').map((r) => r.uuid),
      [uuidV5(`${fleet.team.id}-user-${run}-signed up-${timestamp}`)],
      'one row, under the uuid the plugin derived from the event',
    )
    assert.equal(rows.find((r) => r.event === 'bad uuid')?.uuid, badUuid, 'the client’s uuid is kept')
    const warnings = await eventually(
      'the plugin’s logs say why',
      async () =>
        (await fleet.db.pool.query<{ message: string }>(`SELECT message FROM plugin_log_entries WHERE plugin_config_id = $1 AND type = 'WARN'`, [config.id]))
          .rows,
      (r) => r.length > 0,
    )
    assert.deepEqual(
      warnings.map((w) => w.message),
      ['processEvent returned an event whose "uuid" is "not-a-uuid", which is not a UUID: the event keeps its own uuid'],
    )
  })
})
