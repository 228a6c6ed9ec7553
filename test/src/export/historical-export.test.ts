import assert from 'node:assert/strict'
import { createHistoricalRun } from '@plugin-server/db'
import type { HistoricalRunProgress } from '@plugin-server/export'
import { eventually } from '../harness/fleet'
import type { FleetProcess } from '../harness/processes'
import { historicalFleet, HistoricalFleet, RANGE } from './historical-fleet'

const TAKEN = 'historical export run taken by this exporter'

const sorted = (uuids: Iterable<string>) => [...uuids].sort()

describe('historical export runs executed by the exporters (plugin-server export historical)', function () {
  this.timeout(180_000)
  let h: HistoricalFleet

  afterEach(async () => {
    await h?.close()
  })

  const start = async (args: string[] = []): Promise<HistoricalRunProgress> => {
    const started = await h.cli(['export', 'historical', String(h.configId), '--from', RANGE.from, '--to', RANGE.to, '--detach', ...args])
    assert.equal(started.code, 0, started.stderr)
    return JSON.parse(started.stdout) as HistoricalRunProgress
  }

  it('survives a SIGKILL of the exporter running it: another exporter takes it over and every event of the range is exported, recordings ($snapshot) skipped', async () => {
    h = await historicalFleet(1000)
    // As live exports: recordings are onSnapshot's, never exportEvents'.
    await h.store(2, '$snapshot')
    const exporters = await Promise.all([h.fleet.start('exporter'), h.fleet.start('exporter')])
    // Six batches answered, then the destination holds until the exporter driving the run is killed.
    h.destination.responder = ({ index }) => (index < 6 ? 200 : 'hold')
    const run = await start(['--batch-size', '50', '--max-in-flight', '2'])
    assert.equal(run.total, null, 'the CLI only enqueues: the total is counted by an exporter')
    const takenBy = (p: FleetProcess) => p.lines.some((l) => l.msg === TAKEN && l.runId === run.id)
    const driver = await eventually(
      'an exporter takes the run',
      async () => exporters.find(takenBy),
      (p) => p !== undefined,
    )
    await eventually(
      'a batch held mid-run',
      async () => h.destination.heldCount(),
      (n) => n >= 1,
    )
    const before = await eventually(
      'the six answered batches counted',
      () => h.progress(run.id),
      (p) => p.exported >= 300,
    )
    assert.equal(before.status, 'running')
    assert.ok(before.exported < 1000, `killed part way (${before.exported} exported)`)
    await driver!.kill('SIGKILL')
    h.destination.responder = () => 200
    h.destination.release()

    const survivor = exporters.find((p) => p !== driver)!
    const done = await h.finished(run.id)
    assert.ok(takenBy(survivor), 'the other exporter took the run over')
    assert.deepEqual(
      { status: done.status, total: done.total, exported: done.exported, failed: done.failed, skipped: done.skipped, done: done.done, percent: done.percent },
      { status: 'done', total: 1005, exported: 1000, failed: 0, skipped: 5, done: 1005, percent: 100 },
    )
    const delivered = h.destination.deliveredUuids(h.path)
    assert.deepEqual(sorted(new Set(delivered)), sorted(h.exportable), 'every event of the range exported, none skipped, nothing else')
    // Marked as PostHog marked historically exported events.
    const marks = h.destination
      .on(h.path)
      .filter((r) => r.status === 200)
      .flatMap((r) => (r.body.events as { properties: Record<string, unknown> }[]).map((e) => e.properties))
    assert.ok(marks.length >= 1000)
    for (const p of marks) {
      assert.equal(p.$$is_historical_export_event, true)
      assert.equal(p.$$historical_export_source_db, 'postgres')
      assert.ok(Date.parse(String(p.$$historical_export_timestamp)) > Date.parse(RANGE.to), String(p.$$historical_export_timestamp))
    }
    const again = delivered.length - new Set(delivered).size
    assert.ok(again <= 100, `at most the pages in flight at the kill exported twice (${again} events)`)
  })

  it('is handed back at once by an exporter stopped with SIGTERM: another one takes it over long before the lock would expire', async () => {
    h = await historicalFleet(1000, { EXPORT_LOCK_DURATION_MS: '60000' })
    const exporters = await Promise.all([h.fleet.start('exporter'), h.fleet.start('exporter')])
    const run = await start(['--batch-size', '10', '--max-in-flight', '1'])
    const takenBy = (p: FleetProcess) => p.lines.some((l) => l.msg === TAKEN && l.runId === run.id)
    const driver = await eventually(
      'an exporter takes the run',
      async () => exporters.find(takenBy),
      (p) => p !== undefined,
    )
    await eventually(
      'a tenth of the run exported',
      () => h.progress(run.id),
      (p) => p.exported >= 100,
    )
    const stoppedAt = Date.now()
    assert.equal(await driver!.kill('SIGTERM'), 0, 'the exporter exits cleanly')
    const survivor = exporters.find((p) => p !== driver)!
    await eventually(
      'the other exporter takes the run',
      async () => takenBy(survivor),
      (ok) => ok,
      20_000,
    )
    assert.ok(Date.now() - stoppedAt < 20_000, `taken over ${Date.now() - stoppedAt} ms after the SIGTERM (the lock lasts 60 s)`)
    const done = await h.finished(run.id)
    assert.deepEqual({ status: done.status, exported: done.exported, done: done.done }, { status: 'done', exported: 1000, done: 1003 })
    assert.deepEqual(sorted(new Set(h.destination.deliveredUuids(h.path))), sorted(h.exportable))
  })

  it('goes on from its last page in the restarted exporter after a SIGKILL of the only one', async () => {
    h = await historicalFleet(600)
    const first = await h.fleet.start('exporter')
    h.destination.responder = ({ index }) => (index < 4 ? 200 : 'hold')
    const run = await start(['--batch-size', '50', '--max-in-flight', '1'])
    await eventually(
      'the fifth batch held',
      async () => h.destination.heldCount(),
      (n) => n === 1,
    )
    await first.kill('SIGKILL')
    h.destination.responder = () => 200
    h.destination.release()

    const restarted = await h.fleet.start('exporter')
    const done = await h.finished(run.id)
    const taken = restarted.lines.find((l) => l.msg === TAKEN && l.runId === run.id)
    assert.ok(taken, 'the restarted exporter took the run')
    assert.equal(taken.nextPage, 5, 'from the page after the last one handed over, not from the start')
    assert.deepEqual(
      { status: done.status, exported: done.exported, done: done.done, total: done.total },
      { status: 'done', exported: 600, done: 603, total: 603 },
    )
    const delivered = h.destination.deliveredUuids(h.path)
    assert.deepEqual(sorted(new Set(delivered)), sorted(h.exportable), 'every event of the range exported')
    const firstPages = new Set(
      h.destination
        .on(h.path)
        .slice(0, 4)
        .flatMap((r) => (r.body.events as { uuid: string }[]).map((e) => e.uuid)),
    )
    assert.equal(delivered.filter((u) => firstPages.has(u)).length, 200, 'the four pages delivered before the kill were not exported again')
  })

  it('a run whose job was never added (its starter died after the insert) is run when an exporter starts', async () => {
    h = await historicalFleet(100)
    const created = await createHistoricalRun(h.fleet.db.pool, {
      configId: h.configId,
      teamId: h.fleet.team.id,
      from: new Date(RANGE.from),
      to: new Date(RANGE.to),
      batchSize: 50,
      maxInFlight: 1,
      maxUnfinished: { config: 1, team: 1 },
    })
    assert.ok(created.outcome === 'created', created.outcome)
    const { run } = created
    await h.fleet.start('exporter')
    const done = await h.finished(run.id)
    assert.deepEqual({ status: done.status, exported: done.exported }, { status: 'done', exported: 100 })
  })

  it('is cancelled from the CLI: status says cancelled and no page is exported after it', async () => {
    h = await historicalFleet(1000, { EXPORT_CONFIG_CONCURRENCY: '2' })
    await h.fleet.start('exporter')
    h.destination.responder = ({ index }) => (index < 3 ? 200 : 'hold')
    const run = await start(['--batch-size', '50', '--max-in-flight', '2'])
    // Both pages in flight are held: the run waits for them, nothing else is on its way.
    await eventually(
      'two batches held',
      async () => h.destination.heldCount(),
      (n) => n === 2,
    )
    const cancelled = await h.cli(['export', 'historical', 'cancel', String(run.id)])
    assert.equal(cancelled.code, 0, cancelled.stderr)
    assert.equal((JSON.parse(cancelled.stdout) as HistoricalRunProgress).status, 'cancelled')
    const requestsAtCancel = h.destination.on(h.path).length
    h.destination.release()

    // It finishes once the pages in flight at the cancel are done.
    const end = await h.finished(run.id)
    assert.equal(h.destination.on(h.path).length, requestsAtCancel, 'no batch sent after the cancel')
    const status = await h.cli(['export', 'historical', 'status', String(run.id)])
    assert.equal(status.code, 0, status.stderr)
    const shown = JSON.parse(status.stdout) as HistoricalRunProgress
    assert.deepEqual(
      { status: shown.status, total: shown.total, exported: shown.exported, failed: shown.failed, finished: shown.finishedAt !== null },
      { status: 'cancelled', total: 1003, exported: 250, failed: 0, finished: true },
    )
    assert.equal(end.cancelledAt !== null, true)
    const again = await h.cli(['export', 'historical', 'cancel', String(run.id)])
    assert.equal(again.code, 1)
    assert.match(again.stderr, new RegExp(`run ${run.id} is already cancelled`))
  })

  it("drops a cancelled run's page waiting for a retry at once, not at its retry time", async () => {
    h = await historicalFleet(100, { TIME_SCALE: '1' })
    await h.fleet.start('exporter')
    // Every batch fails with RetryError: the third attempt is followed by an 8 s wait.
    h.destination.responder = () => 503
    const run = await start(['--batch-size', '50', '--max-in-flight', '1'])
    const tries = await eventually(
      'the first page tried three times',
      async () => h.destination.on(h.path),
      (r) => r.length >= 3,
      20_000,
    )
    const cancelled = await h.cli(['export', 'historical', 'cancel', String(run.id)])
    assert.equal(cancelled.code, 0, cancelled.stderr)
    const end = await h.finished(run.id)
    assert.ok(Date.parse(end.finishedAt!) < tries[2].at + 8000, 'wrapped up before the next retry was due')
    assert.equal(h.destination.on(h.path).length, 3, 'the page was not tried again')
    assert.deepEqual({ status: end.status, exported: end.exported, failed: end.failed }, { status: 'cancelled', exported: 0, failed: 0 })
  })

  it('keeps progress at or under 100 % while events of the range keep arriving during the run', async () => {
    h = await historicalFleet(400)
    await h.fleet.start('exporter')
    const follower = h.startCli([
      'export',
      'historical',
      String(h.configId),
      '--from',
      RANGE.from,
      '--to',
      RANGE.to,
      '--batch-size',
      '20',
      '--max-in-flight',
      '1',
    ])
    const runId = Number(
      (await eventually(
        'the run started',
        async () => /run (\d+)/.exec(follower.stderr.join('\n')),
        (m) => m !== null,
      ))![1],
    )
    const seen: HistoricalRunProgress[] = []
    const late: string[] = []
    for (;;) {
      late.push(...(await h.store(5)))
      const p = await h.progress(runId)
      seen.push(p)
      if (p.finishedAt !== null) break
    }
    assert.equal(await follower.exited, 0, follower.stderr.join('\n'))
    const counted = seen.filter((p) => p.total !== null)
    assert.ok(counted.length > 3 && late.length > 100, `progress read ${counted.length} times while ${late.length} events arrived`)
    for (const p of counted) assert.ok(p.done <= p.total! && p.percent! <= 100, `${p.done}/${p.total} (${p.percent}%)`)
    assert.ok(
      counted.some((p) => p.status === 'running' && p.etaSeconds !== null && p.rate > 0),
      'a rate and an ETA while running',
    )
    const end = seen[seen.length - 1]
    assert.equal(end.total, end.done)
    assert.equal(end.percent, 100)
    const delivered = new Set(h.destination.deliveredUuids(h.path))
    const lateExported = late.filter((u) => delivered.has(u)).length
    assert.equal(end.exported + end.skipped, end.total, 'exported + skipped is the total')
    assert.ok(
      h.exportable.every((u) => delivered.has(u)),
      'every event stored before the start exported',
    )
    assert.equal(delivered.size, end.exported, `only the events counted at the start were exported (${lateExported} of the late ones were)`)
    assert.match(follower.stderr.join('\n'), new RegExp(`run ${runId}: ${end.total}/${end.total} events \\(100%\\) done`))
  })
})
