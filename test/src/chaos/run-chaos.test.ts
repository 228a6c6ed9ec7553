import assert from 'node:assert/strict'
// The chaos run is its own project (chaos/), built before the tests; src and dist sit at the same depth.
import { runChaos } from '../../../chaos/dist/run-chaos'

describe('runChaos (the short version of npm run chaos)', function () {
  this.timeout(600_000)

  it('loses no acknowledged event, export, job or scheduled run while workers are killed and Redis and Postgres restart', async () => {
    const lines: string[] = []
    const report = await runChaos({ seconds: 30, eventsPerSecond: 60, exportFailureRate: 0.2, log: (line) => void lines.push(line) })
    assert.deepEqual(report.failures, [], `${report.failures.join('\n')}\nrun log:\n${lines.join('\n')}\nprocess logs: ${report.logDir}`)
    assert.ok(report.kills >= 3, 'workers were killed')
    assert.equal(report.restarts, 2, 'Redis and Postgres were restarted')
    assert.equal(report.stored, report.acked)
    assert.equal(report.exported, report.stored)
    assert.equal(report.jobsRan, report.jobsExpected)
    assert.ok(report.acked > 1000)
  })
})
