import assert from 'node:assert/strict'
import path from 'node:path'
import { PostHog } from 'posthog-node'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { enablePlugin, managementContext } from '../harness/plugins'
import { REPO_ROOT } from '../harness/processes'

const GEOIP_PLUGIN = path.join(REPO_ROOT, 'node_modules/@posthog/geoip-plugin')

describe('the published @posthog/geoip-plugin runs unchanged', function () {
  this.timeout(120_000)
  let fleet: TestFleet

  before(async () => {
    fleet = await createTestFleet({ GEOIP_DATABASE_PATH: path.join(GEOIP_PLUGIN, 'GeoLite2-City-Test.mmdb') })
    const management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
    await enablePlugin(management, fleet.team.id, GEOIP_PLUGIN)
    await management.close()
    await fleet.start('capture')
    await fleet.start('ingest-worker')
  })
  after(async () => fleet.close())

  const row = (distinctId: string) =>
    eventually(
      'stored',
      async () =>
        (await fleet.db.pool.query('SELECT properties FROM events WHERE distinct_id = $1', [distinctId])).rows[0]?.properties as
          Record<string, unknown> | undefined,
      Boolean,
    )

  it('enriches events from posthog-node (created with disableGeoip: false) using the MaxMind test database it ships', async () => {
    const client = new PostHog(fleet.team.api_token, { host: fleet.captureUrl, flushAt: 1, disableGeoip: false })
    client.capture({ distinctId: 'linkoping', event: 'visit', properties: { $ip: '89.160.20.129' } })
    await client.shutdown()
    const properties = await row('linkoping')
    assert.equal(properties!.$geoip_city_name, 'Linköping')
    assert.equal(properties!.$geoip_country_code, 'SE')
    assert.equal(properties!.$geoip_country_name, 'Sweden')
    assert.equal((properties!.$set as Record<string, unknown>).$geoip_city_name, 'Linköping', 'person properties via $set')
    assert.equal((properties!.$set_once as Record<string, unknown>).$initial_geoip_country_code, 'SE')
    assert.match(String((properties!.$plugins_succeeded as string[])[0]), /^GeoIP \(\d+\)$/)
  })

  it('leaves events alone when posthog-node marks them $geoip_disable (its default)', async () => {
    const client = new PostHog(fleet.team.api_token, { host: fleet.captureUrl, flushAt: 1 })
    client.capture({ distinctId: 'default-client', event: 'visit', properties: { $ip: '89.160.20.129' } })
    await client.shutdown()
    const properties = await row('default-client')
    assert.equal(properties!.$geoip_disable, true)
    assert.equal(properties!.$geoip_city_name, undefined)
  })
})
