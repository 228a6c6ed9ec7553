import assert from 'node:assert/strict'
import type { Locator } from 'playwright-core'
import { insertEvents } from '@plugin-server/db'
import { screenshot } from '../harness/browser'
import { Destination } from '../export/destination'
import { testEvent } from '../export/export-setup'
import {
  api,
  configureThroughUi,
  fillConfigForm,
  lastNumber,
  makeEvents,
  openConfig,
  packPlugin,
  SECRET_API_KEY,
  sendEvents,
  startUiFleet,
  UiFleet,
  until,
  uploadPlugin,
  waitForText,
} from './admin-ui-fixture'

interface DeadLetterView {
  id: number
  event_count: number
  replayed_at: string | null
}

interface HistoricalRunView {
  id: number
  status: string
  total: number
  done: number
  exported: number
}

/** A date input takes what its type wants; the context runs in UTC, so the instant is the same. */
async function fillInstant(input: Locator, at: Date): Promise<void> {
  const type = await input.getAttribute('type')
  const iso = at.toISOString()
  if (type === 'datetime-local') await input.fill(iso.slice(0, 16))
  else if (type === 'date') await input.fill(iso.slice(0, 10))
  else await input.fill(iso)
}

describe('admin UI: exports tab (dead letters, historical export)', function () {
  this.timeout(120_000)
  let ui: UiFleet
  let sink: Destination
  let config: number
  const failed = makeEvents(4, { batch: 'failed' }, 'export-user')

  before(async () => {
    sink = new Destination()
    const sinkUrl = await sink.start()
    ui = await startUiFleet(['capture'])
    const { page } = ui.operator
    await uploadPlugin(page, ui.operator, packPlugin('ui-enricher', 'tar.gz'))
    config = await configureThroughUi(page, ui.operator, ui.fleet, 'ui-enricher', {
      values: { greeting: 'hi', apiKey: SECRET_API_KEY, sinkUrl: `${sinkUrl}/sink`, failExports: 'yes' },
    })
    // Started once the config exists, so they have read it before the first event (processing.test.ts).
    await ui.fleet.start('ingest-worker')
    await ui.fleet.start('exporter')
  })
  after(async () => {
    await ui?.close()
    await sink?.close()
  })
  afterEach(() => ui.operator.assertNoProblems())

  it('failed exports become dead letters, counted on Status; after the fix, replay (one, then all) delivers them and marks them replayed', async () => {
    const { page } = ui.operator
    const letters = () => api<DeadLetterView[]>(ui.fleet, 'GET', `/api/configs/${config}/dead-letters`)
    const deadEvents = (all: DeadLetterView[]) => all.reduce((n, l) => n + l.event_count, 0)
    // Two sends, each flushed on its own: two dead letters, one replayed alone, then the rest.
    await sendEvents(ui.fleet, failed.slice(0, 2))
    await until('the first dead letter', letters, (all) => deadEvents(all) === 2)
    await sendEvents(ui.fleet, failed.slice(2))
    const [newest, ...older] = await until('dead letters for every failed event', letters, (all) => deadEvents(all) === failed.length)

    await openConfig(page, ui.operator, config, 'exports')
    const rows = page.getByTestId('dead-letter-row')
    await until(
      'every dead letter listed',
      () => rows.count(),
      (n) => n === older.length + 1,
    )
    await waitForText(rows.first(), (t) => t.includes('failExports=yes'), 'the row shows the error')
    await page.getByTestId('tab-status').click()
    await waitForText(page.getByTestId('export-metric-other_errors'), (t) => lastNumber(t) >= 2, 'other_errors counted')
    await waitForText(page.getByTestId('export-metric-undelivered_events'), (t) => lastNumber(t) >= failed.length, 'undelivered_events counted')
    await waitForText(page.getByTestId('status-last-error'), (t) => t.includes('failExports=yes'), 'the export failure as the last error')
    await screenshot(page, 'status-export-errors')

    await page.getByTestId('tab-settings').click()
    await fillConfigForm(page, { values: { failExports: 'no' } })
    await page.getByTestId('config-save').click()
    await page.getByTestId('config-saved').waitFor()
    // The exporter has the fixed config once a new event gets through; replaying earlier would fail again.
    // It learns of the save from a reload message, so a probe exported before that fails like the
    // others (a dead letter, replayed with them below): probes go one at a time until one is delivered.
    await until(
      'a probe delivered with the fixed config',
      async () => {
        const deadBefore = deadEvents(await letters())
        const probe = makeEvents(1, { batch: 'probe' }, 'export-user')
        await sendEvents(ui.fleet, probe)
        const settled = await until(
          'the probe delivered or dead-lettered',
          async () => ({ delivered: (await sink.deliveredUuids('/sink')).includes(probe[0].uuid), dead: deadEvents(await letters()) > deadBefore }),
          ({ delivered, dead }) => delivered || dead,
        )
        return settled.delivered
      },
      (delivered) => delivered,
    )

    await page.getByTestId('tab-exports').click()
    await rows.first().waitFor()
    await screenshot(page, 'exports-dead-letters')
    const replayedRow = (id: number) => page.locator(`[data-testid="dead-letter-row"][data-id="${id}"]`)
    await page.getByTestId(`dead-letter-replay-${newest.id}`).click()
    await until('the newest dead letter replayed, the others pending', letters, (all) => all.every((l) => (l.id === newest.id) === (l.replayed_at !== null)))
    await waitForText(replayedRow(newest.id), (t) => /replayed/i.test(t), `dead letter ${newest.id} shown as replayed`)
    await until(
      'its events delivered',
      async () => sink.deliveredUuids('/sink'),
      (uuids) => failed.slice(2).every((e) => uuids.includes(e.uuid)),
    )

    await page.getByTestId('dead-letters-replay').click()
    await until(
      'the sink got every replayed event',
      async () => sink.deliveredUuids('/sink'),
      (uuids) => failed.every((e) => uuids.includes(e.uuid)),
    )
    for (const letter of await until('every dead letter replayed', letters, (all) => all.every((l) => l.replayed_at !== null))) {
      await waitForText(replayedRow(letter.id), (t) => /replayed/i.test(t), `dead letter ${letter.id} shown as replayed`)
    }
    const replayed = sink.received.filter((r) => (r.body.events as { uuid: string }[]).some((e) => failed.some((f) => f.uuid === e.uuid)))
    const greetings = replayed.flatMap((r) => (r.body.events as { properties: Record<string, unknown> }[]).map((e) => e.properties.greeting))
    assert.ok(greetings.length > 0 && greetings.every((g) => g === 'HI'), 'replayed events are the processed ones')
    await page.getByTestId('tab-status').click()
    await waitForText(page.getByTestId('export-metric-events_delivered_successfully'), (t) => lastNumber(t) >= failed.length + 1, 'delivered counts the replay')
    await page.getByTestId('tab-exports').click()
    await rows.first().waitFor()
    await screenshot(page, 'exports-replayed')
  })

  it('a historical export started from the UI reaches done with done == total', async () => {
    const { page } = ui.operator
    const { rows } = await ui.fleet.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM events')
    const stored = Number(rows[0].n)
    assert.ok(stored >= failed.length + 1, `events stored to export: ${stored}`)
    const delivered = sink.deliveredUuids('/sink').length

    await openConfig(page, ui.operator, config, 'exports')
    await fillInstant(page.getByTestId('historical-from'), new Date(Date.now() - 3600_000))
    await fillInstant(page.getByTestId('historical-to'), new Date(Date.now() + 3600_000))
    await page.getByTestId('historical-start').click()
    const done = page.locator('[data-testid="historical-run-row"][data-status="done"]')
    await done.waitFor({ timeout: 30_000 })
    const [run] = await api<HistoricalRunView[]>(ui.fleet, 'GET', `/api/configs/${config}/historical-exports`)
    assert.equal(run.status, 'done')
    assert.equal(run.total, stored, 'every stored event in the range is counted')
    assert.equal(run.done, run.total)
    const cells = (await done.locator('td').allTextContents()).map((c) => c.trim())
    assert.ok(
      cells.some((c) => new RegExp(`^${run.done}\\s*/\\s*${run.total}$`).test(c)),
      `a cell of the row shows done / total: ${cells.join(' | ')}`,
    )
    assert.equal(sink.deliveredUuids('/sink').length - delivered, stored, 'the sink got every stored event again')
    await screenshot(page, 'exports-historical')
  })

  it('a running historical export is cancelled with its Cancel button: the row says cancelled and nothing more is sent', async () => {
    const { page } = ui.operator
    // Three pages of 500; the sink holds every batch, so the run stays running until it is cancelled.
    await insertEvents(
      ui.fleet.db.pool,
      Array.from({ length: 1200 }, () => testEvent(ui.fleet.team.id, 'stored earlier')),
    )
    sink.responder = () => 'hold'
    await openConfig(page, ui.operator, config, 'exports')
    await fillInstant(page.getByTestId('historical-from'), new Date(Date.now() - 3600_000))
    await fillInstant(page.getByTestId('historical-to'), new Date(Date.now() + 3600_000))
    await page.getByTestId('historical-start').click()
    // The config's two delivery slots held: its third page waits in the queue.
    await until(
      'two batches of the run held',
      async () => sink.heldCount(),
      (n) => n === 2,
    )
    const [run] = await api<HistoricalRunView[]>(ui.fleet, 'GET', `/api/configs/${config}/historical-exports`)
    assert.equal(run.status, 'running')
    const row = page.locator(`[data-testid="historical-run-row"][data-id="${run.id}"]`)
    await screenshot(page, 'exports-historical-running')
    await page.getByTestId(`historical-cancel-${run.id}`).click()
    await row.and(page.locator('[data-status="cancelled"]')).waitFor({ timeout: 30_000 })
    const sent = sink.received.length
    sink.responder = () => 200
    sink.release()
    const [end] = await until(
      'the cancelled run wrapped up',
      () => api<(HistoricalRunView & { finished_at: string | null })[]>(ui.fleet, 'GET', `/api/configs/${config}/historical-exports`),
      ([r]) => r.id === run.id && r.finished_at !== null,
    )
    assert.equal(end.status, 'cancelled')
    assert.ok(end.done < end.total, `stopped part way: ${end.done}/${end.total}`)
    assert.equal(sink.received.length, sent, 'no batch sent after the cancel')
    assert.equal(await page.getByTestId(`historical-cancel-${run.id}`).count(), 0, 'no Cancel button on a cancelled run')
    await screenshot(page, 'exports-historical-cancelled')
  })
})
