import assert from 'node:assert/strict'
import { insertEvents } from '@plugin-server/db'
import { listHistoricalRuns } from '@plugin-server/export'
import { eventually } from '../harness/fleet'
import { FleetProcess, startCli } from '../harness/processes'
import { exportSetup, ExportSetup, testEvent } from './export-setup'

describe('runHistoricalExport (plugin-server export historical)', function () {
  this.timeout(120_000)
  let s: ExportSetup
  const children: FleetProcess[] = []

  beforeEach(async () => {
    s = await exportSetup()
  })
  afterEach(async () => {
    await Promise.all(children.map((c) => c.kill('SIGKILL')))
    await s.close()
  })

  const cli = (args: string[]) => {
    const proc = startCli(args, { ...s.env, LOG_LEVEL: 'warn' })
    children.push(proc)
    return proc
  }

  const progressed = (proc: FleetProcess, atLeast: number) =>
    proc.stderr.some((line) => Number(/: (\d+)\/\d+ events exported/.exec(line)?.[1] ?? -1) >= atLeast)

  it('streams stored events in batches with progress, and resumes where it stopped after a SIGKILL', async () => {
    const configId = await s.enable(s.team.id, 'export-batch', { url: `${s.url}/hist`, exportEventsToIgnore: 'ignored' })
    const base = Date.parse('2024-01-01T00:00:00Z')
    const events = Array.from({ length: 1000 }, (_, i) => ({ ...testEvent(s.team.id, 'old'), timestamp: new Date(base + i * 1000).toISOString() }))
    await insertEvents(s.db.pool, [
      ...events,
      { ...testEvent(s.team.id, 'ignored'), timestamp: new Date(base).toISOString() },
      { ...testEvent(s.team.id, 'too late'), timestamp: '2024-02-01T00:00:00Z' },
    ])
    await s.startExporter()
    // The destination answers five batches, then hangs until the command is killed.
    let answered = 0
    s.destination.responder = () => (answered++ < 5 ? 200 : 'hold')
    const args = [
      'export',
      'historical',
      String(configId),
      '--from',
      '2024-01-01T00:00:00Z',
      '--to',
      '2024-01-02T00:00:00Z',
      '--batch-size',
      '100',
      '--max-in-flight',
      '1',
    ]
    const first = cli(args)
    await eventually(
      'progress shown',
      async () => progressed(first, 500),
      (ok) => ok,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${first.stderr.join('\n')}`)
    })
    await first.kill('SIGKILL')
    const [run] = await listHistoricalRuns(s.db.pool, configId)
    assert.equal(run.status, 'running')
    assert.equal(run.totalEvents, 1000)
    assert.ok(run.enqueuedEvents >= 500 && run.enqueuedEvents < 1000, `stopped part way (${run.enqueuedEvents} handed over)`)
    s.destination.responder = () => 200
    s.destination.release()
    const second = cli(args)
    assert.equal(await second.exited, 0, second.stderr.join('\n'))
    assert.ok(
      second.stderr.some((l) => l.startsWith(`resuming historical export run ${run.id}: ${run.enqueuedEvents}/1000`)),
      second.stderr.join('\n'),
    )
    assert.match(second.stderr.join('\n'), /1000\/1000 events exported \(100%\).*events\/s, ETA/)
    const delivered = s.destination.deliveredUuids('/hist')
    assert.deepEqual([...new Set(delivered)].sort(), events.map((e) => e.uuid).sort())
    assert.equal(delivered.length, 1000, 'no batch exported twice')
    const [done] = await listHistoricalRuns(s.db.pool, configId)
    assert.equal(done.status, 'done')
  })
})
