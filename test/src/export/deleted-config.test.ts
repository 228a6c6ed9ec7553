import assert from 'node:assert/strict'
import { Queue } from 'bullmq'
import { DeliveryJobData, DeliveryQueue, DELIVERIES_QUEUE, ExportBuffer, exportKeys } from '@plugin-server/export'
import { toProcessedEvent } from '@plugin-server/plugin-runtime'
import { deleteConfig } from '@plugin-server/management'
import { eventually } from '../harness/fleet'
import { exportSetup, ExportSetup, testEvent } from './export-setup'

describe('Export deliveries of a deleted plugin config', function () {
  this.timeout(120_000)
  let s: ExportSetup
  let queue: Queue<DeliveryJobData>

  beforeEach(async () => {
    s = await exportSetup()
    queue = new Queue<DeliveryJobData>(DELIVERIES_QUEUE, { connection: s.redis, prefix: s.prefix })
  })
  afterEach(async () => {
    await queue.close()
    await s.close()
  })

  const pending = async () => {
    const keys = exportKeys(s.prefix)
    const [team, fleet] = await Promise.all([s.redis.get(keys.teamPendingEventsTotal(s.team.id)), s.redis.get(keys.fleetPendingEventsTotal())])
    return { team: Number(team ?? 0), fleet: Number(fleet ?? 0) }
  }
  const deadLetters = async () => (await s.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM export_dead_letters')).rows[0].n

  it('drops a retrying batch once its config is deleted: no retry, no dead letter, its pending events given back', async () => {
    s.destination.responder = () => 503
    const configId = await s.enable(s.team.id, 'export-batch', { url: `${s.url}/down` })
    await s.startExporter({ EXPORT_BUFFER_MAX_AGE_MS: '50' })
    await s.handoff(s.team.id, [testEvent(s.team.id), testEvent(s.team.id), testEvent(s.team.id)])
    await eventually(
      'a failed attempt',
      async () => s.destination.on('/down').length,
      (n) => n >= 1,
    )
    assert.deepEqual(await pending(), { team: 3, fleet: 3 })

    await deleteConfig(s.management, configId)

    const [job] = await eventually(
      'the delivery job ended',
      () => queue.getJobs(['completed', 'failed']),
      (jobs) => jobs.length > 0,
    )
    assert.equal(await job.getState(), 'completed')
    assert.equal(job.returnvalue, 'config deleted')
    assert.deepEqual(job.data.events, [])
    assert.equal(await deadLetters(), 0)
    assert.deepEqual(await pending(), { team: 0, fleet: 0 })
  })

  it('drops a flushed buffer whose config was deleted in Postgres while this exporter still runs it', async () => {
    s.destination.responder = () => 400
    const configId = await s.enable(s.team.id, 'export-batch', { url: `${s.url}/refuses` })
    await s.startExporter({ EXPORT_BUFFER_MAX_AGE_MS: '1500' })
    await s.handoff(s.team.id, [testEvent(s.team.id), testEvent(s.team.id)])
    await eventually(
      'the events are buffered',
      async () => s.redis.llen(exportKeys(s.prefix).buffer(configId)),
      (n) => n === 2,
    )
    // As a team's delete cascades: no reload reaches the exporter, which still holds the config.
    await s.db.pool.query('DELETE FROM plugin_configs WHERE id = $1', [configId])

    const [job] = await eventually(
      'the flushed batch ended',
      () => queue.getJobs(['completed', 'failed']),
      (jobs) => jobs.length > 0,
    )
    assert.equal(await job.getState(), 'completed')
    assert.equal(job.returnvalue, 'config deleted')
    assert.equal(s.destination.on('/refuses').length, 1, 'sent once, not retried')
    assert.equal(await deadLetters(), 0)
    assert.deepEqual(await pending(), { team: 0, fleet: 0 })
  })

  it("gives the config's buffered and pending events back to its team and the fleet at its delete, with no exporter running", async () => {
    const configId = await s.enable(s.team.id, 'export-batch', { url: `${s.url}/any` })
    const keys = exportKeys(s.prefix)
    const deliveries = new DeliveryQueue(s.redis, s.prefix)
    try {
      const events = [testEvent(s.team.id), testEvent(s.team.id), testEvent(s.team.id)].map(toProcessedEvent)
      await new ExportBuffer(s.redis, s.prefix, deliveries).append(configId, 'h-1', events.slice(0, 2))
      await deliveries.add([
        { jobId: 'd-waiting', data: { configId, teamId: s.team.id, method: 'onEvent', events: events.slice(2), source: { type: 'live' }, attempts: [] } },
      ])
      assert.equal(Number(await s.redis.get(keys.teamBufferedEvents(s.team.id))), 2)
      assert.deepEqual(await pending(), { team: 1, fleet: 1 })

      await deleteConfig(s.management, configId)

      assert.deepEqual(await pending(), { team: 0, fleet: 0 })
      assert.equal(await s.redis.get(keys.teamBufferedEvents(s.team.id)), null)
      assert.equal(await s.redis.get(keys.fleetBufferedEvents()), null)
      assert.equal(await s.redis.exists(keys.buffer(configId), keys.pendingEvents(configId), keys.pendingEventsTotal(configId)), 0)
      assert.equal(await s.redis.zscore(keys.buffered(), String(configId)), null)
    } finally {
      await deliveries.close()
    }
  })
})
