import assert from 'node:assert/strict'
// The soak run is its own project (soak/), built before the tests; src and dist sit at the same depth.
import { formatReport } from '../../../soak/dist/report'
import { runSoak } from '../../../soak/dist/run-soak'

describe('runSoak (the short version of npm run soak)', function () {
  this.timeout(600_000)

  it('keeps connections, memory, fds, isolates and queue backlogs flat under steady load and config reloads, and stores and exports every acknowledged event once', async () => {
    const lines: string[] = []
    // TIME_SCALE 6: runEveryMinute every 10 s, so a short run sees several. A minute after start-up
    // the workers still grow as they compile and cache; the full run's 5 min warm-up is past that.
    const report = await runSoak({
      seconds: 90,
      eventsPerSecond: 30,
      sampleSeconds: 5,
      warmupSeconds: 30,
      reloadSeconds: 10,
      timeScale: 6,
      // A 60 s window holds a few swings of the RSS sawtooth (a flat exporter moved 34-63 MB of heap
      // on a busy machine), so memory gets a wide floor here; the full run's 25 min window judges growth.
      // Connections too: a pool that opens one more under a burst keeps it for its 30 s idle timeout,
      // which a 60 s window fits as a rise (10 -> 12, peak 13, with other work on the machine); any of
      // the six processes' pools may do it. A per-probe or per-batch leak adds tens in this window;
      // the full run (+2 over 25 min, 30 reloads) is the one that judges slower growth.
      tolerances: {
        rss: { floor: 40, perHour: 0, unit: 'MB' },
        'heap after GC': { floor: 20, perHour: 0, unit: 'MB' },
        'postgres connections': { floor: 6, perHour: 0, unit: 'connections' },
      },
      log: (line) => void lines.push(line),
    })
    const context = `${formatReport(report)}\nrun log:\n${lines.join('\n')}`
    assert.deepEqual(report.failures, [], context)

    assert.ok(report.samples.length >= 18, `sampled every 5 s\n${context}`)
    for (const name of [
      'redis clients',
      'postgres connections',
      'ingest-worker #1 rss',
      'ingest-worker #1 live isolates',
      'exporter #0 open fds',
      'ingest backlog',
    ]) {
      assert.ok(
        report.samples.every((s) => typeof s.values[name] === 'number'),
        `${name} was read at every sample\n${context}`,
      )
    }
    const afterWarmUp = report.samples.filter((s) => s.t >= report.settings.warmupSeconds)
    for (const name of ['ingest-worker #0', 'ingest-worker #1', 'exporter #0', 'scheduler #0', 'job-worker #0']) {
      const isolates = afterWarmUp.map((s) => s.values[`${name} live isolates`]!)
      assert.ok(Math.max(...isolates) <= 2, `${name} holds at most an isolate per config, through every reload\n${context}`)
    }
    assert.ok(Math.max(...afterWarmUp.map((s) => s.values['ingest-worker #0 live isolates']!)) >= 1, `ingest workers run plugins in isolates\n${context}`)
    assert.ok(report.reloads >= 5, `a config was reloaded every 10 s\n${context}`)
    assert.ok(
      report.probes.every((p) => p.polls >= 60),
      `every process's /healthz, /readyz and /metrics were polled about once a second\n${context}`,
    )

    const e = report.events
    assert.ok(e.acknowledged > 1500, context)
    assert.equal(e.lost, 0, `every acknowledged event is stored\n${context}`)
    assert.equal(e.storedDuplicates, 0, `no event is stored twice\n${context}`)
    assert.equal(e.exported, e.stored, `every stored event is exported\n${context}`)
    assert.equal(e.exportDuplicates, 0, `no event is exported twice\n${context}`)
    assert.ok(e.jobsRan >= e.jobsExpected - 5, `the jobs processEvent enqueued ran (but those a reload disposed the plugin under)\n${context}`)
    assert.ok(e.unprocessed < e.stored / 20, `processEvent ran on the events but those in flight when a reload disposed the plugin\n${context}`)
    assert.ok(e.scheduledRuns >= 4, `runEveryMinute ran for both configs\n${context}`)
  })
})
