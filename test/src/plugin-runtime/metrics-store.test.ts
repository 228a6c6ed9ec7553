import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { readMetrics, updateMetric } from '@plugin-server/plugin-runtime'
import { testQueuePrefix } from '../harness/databases'

describe('updateMetric / readMetrics (meta.metrics, fleet-wide)', () => {
  it('aggregates sum, max and min from several workers into one value per config', async () => {
    const prefix = testQueuePrefix()
    const workers = [new Redis(process.env.REDIS_URL!), new Redis(process.env.REDIS_URL!)]
    try {
      await Promise.all(
        [5, 10, -3, 7, 1].flatMap((n, i) => [
          updateMetric(workers[i % 2], prefix, 42, 'delivered', 'sum', n),
          updateMetric(workers[i % 2], prefix, 42, 'slowest', 'max', n),
          updateMetric(workers[i % 2], prefix, 42, 'fastest', 'min', n),
        ]),
      )
      assert.deepEqual(await readMetrics(workers[0], prefix, 42), { delivered: 20, slowest: 10, fastest: -3 })
      assert.deepEqual(await readMetrics(workers[0], prefix, 43), {})
      await assert.rejects(updateMetric(workers[0], prefix, 42, 'delivered', 'sum', Number.NaN), /metric delivered: value must be a finite number/)
    } finally {
      workers.forEach((w) => w.disconnect())
    }
  })
})
