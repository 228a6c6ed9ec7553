import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { tryEvent, TryResult } from '@plugin-server/try-it'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { enablePlugin, managementContext, writePlugin } from '../harness/plugins'

/** Every kind of output the chain has to decide about, chosen by `properties.case`. */
const SHAPER = `export function processEvent(event) {
  const c = event.properties.case
  if (c === 'drop') return null
  if (c === 'throw') throw new Error('the shaper refuses this event')
  if (c === 'invalid') return { ...event, event: '' }
  const out = {
    ...event,
    properties: { ...event.properties, shaped: true, $set: { ...(event.properties.$set || {}), from_properties: 1 } },
    $set: { plan: 'pro' },
    $set_once: { first_seen_by: 'shaper' },
  }
  if (c === 'ts-valid') out.timestamp = '2024-05-01T14:00:00+02:00'
  if (c === 'ts-invalid') out.timestamp = 'not a date'
  if (c === 'ts-far-future') out.timestamp = '+020000-01-01T00:00:00.000Z'
  if (c === 'numeric-id') out.distinct_id = 12345
  return out
}`

/** Second in the chain: sees the shaper's output, and exports, so it is listed as deferred. */
const TAGGER = `export function processEvent(event) {
  event.properties.tagged_after_shaper = event.properties.shaped === true
  return event
}
export function onEvent() {}`

const CASES = ['plain', 'ts-valid', 'ts-invalid', 'ts-far-future', 'numeric-id', 'drop', 'throw', 'invalid'] as const

interface StoredRow {
  uuid: string
  event: string
  distinct_id: string
  properties: Record<string, unknown>
  timestamp: Date
  ip: string | null
  site_url: string | null
}

/** The fields the events table keeps, as Try it shows them and as they were stored. */
const FIELDS = ['uuid', 'event', 'distinct_id', 'properties', 'timestamp', 'ip', 'site_url'] as const

function stored(row: StoredRow): Record<(typeof FIELDS)[number], unknown> {
  return { ...row, timestamp: row.timestamp.toISOString(), site_url: row.site_url ?? '' }
}

describe('Try it and the ingest worker decide the same (issue #18 item 3)', function () {
  this.timeout(180_000)
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

  it('stores exactly the events Try it outputs, field by field, and drops the ones it drops', async () => {
    const shaper = await enablePlugin(management, fleet.team.id, writePlugin('equality-shaper', SHAPER), {}, { order: 1 })
    const tagger = await enablePlugin(management, fleet.team.id, writePlugin('equality-tagger', TAGGER), {}, { order: 2 })
    await fleet.start('capture')
    await fleet.start('ingest-worker')

    const run = randomUUID()
    const timestamp = '2026-01-02T03:04:05.678Z'
    const events = CASES.map((c) => ({
      uuid: randomUUID(),
      event: c === 'invalid' ? 'becomes invalid' : `case ${c}`,
      distinct_id: 'user-1',
      timestamp,
      properties: { run, case: c, $set: { from_client: true } },
    }))
    const res = await fetch(`${fleet.captureUrl}/batch`, { method: 'POST', body: JSON.stringify({ api_key: fleet.team.api_token, batch: events }) })
    assert.equal(res.status, 200)
    const rows = await eventually(
      'the events that are not dropped are stored',
      async () =>
        (
          await fleet.db.pool.query<StoredRow>(
            `SELECT uuid, event, distinct_id, properties, timestamp, ip, site_url FROM events WHERE properties->>'run' = $1`,
            [run],
          )
        ).rows,
      (r) => r.length === CASES.length - 1,
    )
    const byUuid = new Map(rows.map((r) => [r.uuid, r]))

    for (const [i, event] of events.entries()) {
      const c = CASES[i]
      // The event as capture handed it to the ingest worker: capture took the ip from the loopback connection.
      const result: TryResult = await tryEvent(management, {
        teamId: fleet.team.id,
        event: { ...event, ip: byUuid.get(event.uuid)?.ip ?? '127.0.0.1' },
        target: { chain: true },
      })
      const row = byUuid.get(event.uuid)
      assert.equal(result.dropped, row === undefined, `${c}: Try it drops the event exactly when ingestion does`)
      if (row === undefined) {
        assert.equal(result.output, null)
        continue
      }
      assert.ok(result.output, `${c}: Try it has an output`)
      const fromIngest = stored(row)
      for (const field of FIELDS) assert.deepEqual(result.output[field], fromIngest[field], `${c}: ${field} differs between Try it and the stored event`)
    }

    // The cases did what they are named for, so the equality above covers them.
    const of = (c: (typeof CASES)[number]) => stored(byUuid.get(events[CASES.indexOf(c)].uuid)!)
    const labels = { shaper: `equality-shaper (${shaper.id})`, tagger: `equality-tagger (${tagger.id})` }
    assert.deepEqual(of('plain').properties, {
      run,
      case: 'plain',
      shaped: true,
      tagged_after_shaper: true,
      $set: { from_client: true, from_properties: 1, plan: 'pro' },
      $set_once: { first_seen_by: 'shaper' },
      $plugins_succeeded: [labels.shaper, labels.tagger],
      $plugins_failed: [],
      $plugins_deferred: [labels.tagger],
      // The client address, stored after the chain as PostHog stored it.
      $ip: of('plain').ip,
    })
    assert.equal(of('plain').timestamp, timestamp)
    assert.equal(of('ts-valid').timestamp, '2024-05-01T12:00:00.000Z', 'a valid timestamp is normalised to UTC')
    assert.equal(of('ts-invalid').timestamp, timestamp, 'an invalid timestamp keeps the one captured')
    assert.equal(of('ts-far-future').timestamp, timestamp, 'a timestamp past year 9999 keeps the one captured')
    assert.equal(of('numeric-id').distinct_id, '12345', 'a numeric distinct_id becomes a string')
    assert.deepEqual((of('throw').properties as Record<string, unknown>).$plugins_failed, [labels.shaper])
    assert.deepEqual((of('invalid').properties as Record<string, unknown>).$plugins_failed, [labels.shaper])
    assert.equal(of('invalid').event, 'becomes invalid', 'an invalid output falls back to the event before that plugin')
  })
})
