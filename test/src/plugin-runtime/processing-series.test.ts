import assert from 'node:assert/strict'
import Redis from 'ioredis'
import {
  addToProcessingSeries,
  PROCESSING_SERIES_TTL_SECONDS,
  processingSeriesKey,
  processingTimeBucket,
  ProcessingSample,
  readProcessingCounts,
  readProcessingSeries,
} from '@plugin-server/plugin-runtime'
import { testQueuePrefix } from '../harness/databases'

const MINUTE = 60_000

/** A batch's sample with one call per duration. */
function sample(counts: Partial<ProcessingSample>, callMs: number[] = []): ProcessingSample {
  const histogram = new Map<number, number>()
  for (const ms of callMs) histogram.set(processingTimeBucket(ms), (histogram.get(processingTimeBucket(ms)) ?? 0) + 1)
  return {
    events_in: 0,
    events_returned: 0,
    events_dropped: 0,
    events_failed: 0,
    calls: callMs.length,
    time_ms: callMs.reduce((a, b) => a + b, 0),
    histogram,
    ...counts,
  }
}

async function write(redis: Redis, prefix: string, configId: number, s: ProcessingSample, at: number): Promise<void> {
  const pipeline = redis.pipeline()
  addToProcessingSeries(pipeline, prefix, configId, s, at)
  for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err
}

describe('processing series (per-config processEvent metrics, fleet-wide)', () => {
  let workers: Redis[]
  // The global fixture sets REDIS_URL before the first test, not when this file loads.
  before(() => (workers = [new Redis(process.env.REDIS_URL!), new Redis(process.env.REDIS_URL!)]))
  after(() => workers.forEach((w) => w.disconnect()))

  it('adds up what several workers wrote into one point per minute, oldest first, zeros where nothing ran', async () => {
    const prefix = testQueuePrefix()
    const now = Date.UTC(2026, 11, 3, 10, 30, 15)
    await write(workers[0], prefix, 7, sample({ events_in: 10, events_returned: 7, events_dropped: 2, events_failed: 1 }, [4]), now - 2 * MINUTE)
    await write(workers[1], prefix, 7, sample({ events_in: 5, events_returned: 5 }, [6]), now - 2 * MINUTE)
    await write(workers[1], prefix, 7, sample({ events_in: 3, events_failed: 3 }, [5000]), now)
    await write(workers[0], prefix, 8, sample({ events_in: 99, events_returned: 99 }, [1]), now)

    const series = await readProcessingSeries(workers[0], prefix, 7, 4, now)
    assert.equal(series.bucket_seconds, 60)
    assert.deepEqual(
      series.points.map((p) => [p.t, p.events_in, p.events_returned, p.events_dropped, p.events_failed, p.calls]),
      [
        ['2026-12-03T10:27:00.000Z', 0, 0, 0, 0, 0],
        ['2026-12-03T10:28:00.000Z', 15, 12, 2, 1, 2],
        ['2026-12-03T10:29:00.000Z', 0, 0, 0, 0, 0],
        ['2026-12-03T10:30:00.000Z', 3, 0, 0, 3, 1],
      ],
    )
    assert.equal(series.points[0].p50_ms, null, 'no call, no quantile')
    assert.deepEqual([series.total.events_in, series.total.events_failed, series.total.calls, series.total.time_ms], [18, 4, 3, 5010])

    const counts = await readProcessingCounts(workers[0], prefix, [7, 8, 9], 4, now)
    assert.deepEqual([counts.get(7)?.events_in, counts.get(8)?.events_in, counts.get(9)?.events_in], [18, 99, 0])
  })

  it('reads p50 and p99 back within a factor √2 of the exact quantiles, merged over workers', async () => {
    const prefix = testQueuePrefix()
    const now = Date.now()
    // 1 000 calls: 1..1000 ms, split between two workers; exact p50 = 500 ms, p99 = 990 ms.
    const times = Array.from({ length: 1000 }, (_, i) => i + 1)
    await write(
      workers[0],
      prefix,
      1,
      sample(
        {},
        times.filter((t) => t % 2 === 0),
      ),
      now,
    )
    await write(
      workers[1],
      prefix,
      1,
      sample(
        {},
        times.filter((t) => t % 2 === 1),
      ),
      now,
    )
    const { total } = await readProcessingSeries(workers[0], prefix, 1, 1, now)
    for (const [name, value, exact] of [
      ['p50', total.p50_ms, 500],
      ['p99', total.p99_ms, 990],
    ] as const) {
      assert.ok(value !== null && value / exact <= Math.SQRT2 && exact / value <= Math.SQRT2, `${name} ${String(value)} ms is within √2 of ${exact} ms`)
    }
  })

  it('keeps each minute for a day and an hour', async () => {
    const prefix = testQueuePrefix()
    const now = Date.now()
    await write(workers[0], prefix, 3, sample({ events_in: 1, events_returned: 1 }, [2]), now)
    const ttl = await workers[0].ttl(processingSeriesKey(prefix, 3, Math.floor(now / MINUTE)))
    assert.ok(ttl > 24 * 3600 && ttl <= PROCESSING_SERIES_TTL_SECONDS, `ttl ${ttl}`)
  })

  it('puts times in log-scale buckets a factor √2 apart, everything past three minutes in the last one', () => {
    assert.deepEqual([0, 0.5, 1, 1.4, 2, 4, 1000].map(processingTimeBucket), [0, 0, 0, 1, 2, 4, 20])
    assert.equal(processingTimeBucket(3_600_000), 35)
  })
})
