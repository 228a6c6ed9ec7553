import assert from 'node:assert/strict'
import { Queue } from 'bullmq'
import { DeliveryJobData, DeliveryQueue, ExportBuffer, exportKeys, ExportSettings, flushDue } from '@plugin-server/export'
import { PluginManager, toProcessedEvent } from '@plugin-server/plugin-runtime'
import { eventually } from '../harness/fleet'
import { DELIVERIES_QUEUE, exportSetup, ExportSetup, testEvent } from './export-setup'

describe('ExportBuffer (exportEvents buffering per config)', function () {
  this.timeout(60_000)
  let s: ExportSetup

  beforeEach(async () => {
    s = await exportSetup()
  })
  afterEach(async () => {
    await s.close()
  })

  const batches = (path: string) => s.destination.on(path).map((r) => r.body.events as { uuid: string; event: string }[])

  it('flushes a buffer when it reaches its byte size, into batches of whole hand-offs', async () => {
    const events = Array.from({ length: 10 }, () => testEvent(s.team.id, 'sized', { n: 'x'.repeat(100) }))
    const eventBytes = Buffer.byteLength(JSON.stringify(toProcessedEvent(events[0])))
    const configId = await s.enable(s.team.id, 'export-batch', { url: `${s.url}/size`, exportEventsBufferBytes: String(5 * eventBytes) })
    await s.startExporter({ EXPORT_FANOUT_CONCURRENCY: '1' })
    for (const event of events) await s.handoff(s.team.id, [event])
    await eventually(
      'two batches',
      async () => batches('/size').length,
      (n) => n === 2,
    )
    assert.deepEqual(
      batches('/size').map((b) => b.map((e) => e.uuid)),
      [events.slice(0, 5).map((e) => e.uuid), events.slice(5).map((e) => e.uuid)],
    )
    assert.deepEqual(await s.metrics(configId), { events_seen: 10, events_delivered_successfully: 10, retry_errors: 0, other_errors: 0, undelivered_events: 0 })
  })

  it('flushes a buffer that reached its age, in one batch, and skips events of the ignore list', async () => {
    await s.enable(s.team.id, 'export-batch', { url: `${s.url}/age`, exportEventsToIgnore: '$pageview, secret thing' })
    await s.startExporter({ EXPORT_BUFFER_MAX_AGE_MS: '300' })
    const kept = [testEvent(s.team.id, 'kept'), testEvent(s.team.id, 'also kept')]
    await s.handoff(s.team.id, [kept[0], testEvent(s.team.id, '$pageview')])
    await s.handoff(s.team.id, [testEvent(s.team.id, 'secret thing'), kept[1]])
    await eventually(
      'a batch',
      async () => batches('/age').length,
      (n) => n >= 1,
    )
    assert.deepEqual(
      batches('/age').map((b) => b.map((e) => e.event).sort()),
      [['also kept', 'kept']],
    )
  })

  it('turns a buffer into exactly one job however many exporters flush it at once', async () => {
    const redis = s.redis
    const deliveries = new DeliveryQueue(redis, s.prefix)
    const connections = Array.from({ length: 5 }, () => redis.duplicate())
    const buffers = connections.map((c) => new ExportBuffer(c, s.prefix, deliveries))
    const events = Array.from({ length: 100 }, () => toProcessedEvent(testEvent(s.team.id)))
    for (let i = 0; i < 10; i++) await buffers[0].append(7, `h-${i}`, events.slice(i * 10, i * 10 + 10))
    const results = (await Promise.all(buffers.map((b) => b.flush(7)))).flat()
    const jobs = await deliveries.queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed'])
    assert.equal(jobs.length, 1, 'one job')
    assert.deepEqual(
      jobs[0].data.events.map((e) => e.uuid),
      events.map((e) => e.uuid),
    )
    assert.ok(results.every((r) => r.batchId === jobs[0].id))
    assert.deepEqual(await buffers[0].flush(7), [], 'nothing left to flush')
    await deliveries.close()
    connections.forEach((c) => c.disconnect())
  })

  it('does not buffer a redelivered hand-off twice, remembering it for an hour (as a delivered job), not a day', async () => {
    const deliveries = new DeliveryQueue(s.redis, s.prefix)
    const buffer = new ExportBuffer(s.redis, s.prefix, deliveries)
    const events = [toProcessedEvent(testEvent(s.team.id))]
    assert.notEqual(await buffer.append(3, 'x-1-1', events), null)
    assert.equal(await buffer.append(3, 'x-1-1', events), null)
    assert.equal((await buffer.size(3)).events, 1)
    const ttl = await s.redis.ttl(exportKeys(s.prefix).appended(3, 'x-1-1'))
    assert.ok(ttl > 3500 && ttl <= 3600, `the marker's TTL is ${ttl} s`)
    await deliveries.close()
  })

  it('finishes a flush whose exporter died between taking the buffer and adding the job, without losing or repeating events', async () => {
    const real = new DeliveryQueue(s.redis, s.prefix)
    const dying = {
      add: async () => {
        throw new Error('SIGKILL')
      },
    } as unknown as DeliveryQueue
    const first = toProcessedEvent(testEvent(s.team.id, 'first'))
    const second = toProcessedEvent(testEvent(s.team.id, 'second'))
    await new ExportBuffer(s.redis, s.prefix, dying).append(9, 'h-1', [first])
    await assert.rejects(new ExportBuffer(s.redis, s.prefix, dying).flush(9), /SIGKILL/)
    const survivor = new ExportBuffer(s.redis, s.prefix, real)
    assert.deepEqual(await survivor.unfinished(Date.now()), [9])
    await survivor.append(9, 'h-2', [second])
    const results = await survivor.flush(9)
    assert.equal(results.length, 2)
    const queue = new Queue<DeliveryJobData>(DELIVERIES_QUEUE, { connection: s.redis, prefix: s.prefix })
    const jobs = await queue.getJobs(['waiting'])
    assert.deepEqual(jobs.map((j) => j.data.events.map((e) => e.event)).sort(), [['first'], ['second']])
    assert.deepEqual(await survivor.unfinished(Date.now()), [])
    await queue.close()
    await real.close()
  })

  it('flushDue: a config whose flush fails is reported and the sweep goes on to the other configs', async () => {
    const real = new DeliveryQueue(s.redis, s.prefix)
    // Config 8's batches cannot be queued (as when its spill to a dead letter failed every time).
    const refusing = {
      add: async (deliveries: Parameters<DeliveryQueue['add']>[0]) => {
        if (deliveries.some((d) => d.data.configId === 8)) throw new Error('config 8 cannot be queued')
        return real.add(deliveries)
      },
    } as unknown as DeliveryQueue
    const buffer = new ExportBuffer(s.redis, s.prefix, refusing)
    await buffer.append(8, 'h-8', [toProcessedEvent(testEvent(s.team.id, 'stuck'))])
    await buffer.append(9, 'h-9', [toProcessedEvent(testEvent(s.team.id, 'other'))])
    const failures: [number, string][] = []
    const manager = { enabledConfigs: () => [] } as unknown as PluginManager
    const flushed = await flushDue(buffer, manager, { bufferMaxAgeMs: 0 } as ExportSettings, true, (id, err) => failures.push([id, err.message]))
    assert.equal(flushed, 1)
    assert.deepEqual(failures, [[8, 'config 8 cannot be queued']])
    const queue = new Queue<DeliveryJobData>(DELIVERIES_QUEUE, { connection: s.redis, prefix: s.prefix })
    const jobs = await queue.getJobs(['waiting'])
    assert.deepEqual(
      jobs.map((j) => [j.data.configId, j.data.events.map((e) => e.event)]),
      [[9, ['other']]],
    )
    await queue.close()
    await real.close()
  })
})
