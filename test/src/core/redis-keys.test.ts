import assert from 'node:assert/strict'
import { redisKeys } from '@plugin-server/core'

// The strings a deployed fleet already wrote: a change here makes its Redis data unreadable.
describe('redis keys (every key the fleet builds, from libs/core redis-keys.ts)', () => {
  const keys = redisKeys('{ps}')

  it('keep the exporter’s key strings', () => {
    const e = keys.export
    assert.deepEqual(
      [
        e.buffer(7),
        e.bufferBytes(7),
        e.buffered(),
        e.flushing(7),
        e.flushingId(7),
        e.flushingSince(),
        e.appended(7, 'h1'),
        e.pending(7),
        e.retrying(7),
        e.pendingEvents(7),
        e.pendingEventsTotal(7),
        e.spilled(7),
        e.historicalDone(3),
        e.historicalCounts(3),
        keys.exportSeries(7, 29000000),
      ],
      [
        '{ps}:export:buffer:7',
        '{ps}:export:buffer-bytes:7',
        '{ps}:export:buffered',
        '{ps}:export:flushing:7',
        '{ps}:export:flushing-id:7',
        '{ps}:export:flushing-since',
        '{ps}:export:appended:7:h1',
        '{ps}:export:pending:7',
        '{ps}:export:retrying:7',
        '{ps}:export:pending-events:7',
        '{ps}:export:pending-events-total:7',
        '{ps}:export:spilled:7',
        '{ps}:export:historical-done:3',
        '{ps}:export:historical-counts:3',
        '{ps}:export-series:7:29000000',
      ],
    )
  })

  it('keep the scheduler’s key strings', () => {
    const s = keys.scheduler
    assert.deepEqual(
      [s.chains(), s.lastFinish(), s.running('c7-runEveryMinute'), s.runs('c7-runEveryMinute')],
      ['{ps}:scheduler:chains', '{ps}:scheduler:last-finish', '{ps}:scheduler:running:c7-runEveryMinute', '{ps}:scheduler:runs:c7-runEveryMinute'],
    )
  })

  it('keep the plugin runtime’s key strings and the reload channel', () => {
    assert.deepEqual(
      [
        keys.processingSeries(7, 29000000),
        keys.pluginMetrics(7),
        keys.pluginMetricsConfigs(),
        keys.cursor(7, 'page'),
        keys.cache(4, 2, 'seen'),
        keys.cacheHead(),
        ...Object.values(keys.pluginRedisAccount(2)),
        keys.pluginRedisFleetTotal(),
        keys.pluginJobsWaiting(2),
        keys.setupState(7),
        keys.jobRuns(7),
        keys.jobRunsData(7),
        keys.pluginBreaches(7),
        keys.reloadChannel(),
      ],
      [
        '{ps}:processing-series:7:29000000',
        '{ps}:plugin-metrics:7',
        '{ps}:plugin-metrics-configs',
        '{ps}:cursor:7:page',
        '{ps}:cache:4:2:seen',
        '{ps}:cache:',
        '{ps}:redis-account:2:sizes',
        '{ps}:redis-account:2:expiries',
        '{ps}:redis-account:2:checks',
        '{ps}:redis-account:2:total',
        '{ps}:redis-account:fleet-total',
        '{ps}:plugin-jobs-waiting:2',
        '{ps}:setup-state:7',
        '{ps}:job-runs:7',
        '{ps}:job-runs:7:data',
        '{ps}:plugin-breaches:7',
        '{ps}:plugin-reload',
      ],
    )
  })
})
