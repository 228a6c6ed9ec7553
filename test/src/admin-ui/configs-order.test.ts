import assert from 'node:assert/strict'
import type { Page } from 'playwright-core'
import type { TeamUsage } from '@plugin-server/admin-contract'
import { screenshot } from '../harness/browser'
import { Destination } from '../export/destination'
import {
  api,
  configureThroughUi,
  ElementData,
  lastNumber,
  listConfigs,
  makeEvents,
  packPlugin,
  SECRET_API_KEY,
  sendEvents,
  startUiFleet,
  storedProperties,
  UiFleet,
  until,
  uploadPlugin,
  waitForText,
} from './admin-ui-fixture'

describe('admin UI: configs list, processEvent order and status counters', function () {
  this.timeout(120_000)
  let ui: UiFleet
  let sink: Destination
  let enricher: number
  let tagger: number
  let round = 0

  /** Sends one event at a time until one is stored with the wanted tag: workers apply the new order within moments. */
  async function storedTagBecomes(expected: string): Promise<void> {
    await until(
      `a stored event tagged ${expected}`,
      async () => {
        const [event] = makeEvents(1, { round: ++round })
        await sendEvents(ui.fleet, [event])
        const [stored] = await until(
          'the event stored',
          () => storedProperties(ui.fleet, [event.uuid]),
          (rows) => rows.length === 1,
        )
        return stored.chain_tag
      },
      (tag) => tag === expected,
    )
  }

  const rowOrder = async (page: Page): Promise<number[]> => {
    const rows = page.locator('[data-testid^="config-row-"]')
    await rows.first().waitFor()
    const ids = await rows.evaluateAll((all: ElementData[]) =>
      all.map((r) => [Number((r.dataset.testid ?? '').slice('config-row-'.length)), Number(r.dataset.order)]),
    )
    return ids.sort((a, b) => a[1] - b[1]).map(([id]) => id)
  }
  const apiOrder = async (): Promise<number[]> => (await listConfigs(ui.fleet)).map((c) => c.id)

  before(async () => {
    sink = new Destination()
    const sinkUrl = await sink.start()
    ui = await startUiFleet(['capture', 'ingest-worker', 'exporter'])
    const { page } = ui.operator
    await uploadPlugin(page, ui.operator, packPlugin('ui-enricher', 'zip'))
    await uploadPlugin(page, ui.operator, packPlugin('ui-tagger', 'tar.gz'))
    enricher = await configureThroughUi(page, ui.operator, ui.fleet, 'ui-enricher', {
      values: { greeting: 'hello', apiKey: SECRET_API_KEY, sinkUrl: `${sinkUrl}/sink` },
    })
    tagger = await configureThroughUi(page, ui.operator, ui.fleet, 'ui-tagger', {})
  })
  after(async () => {
    await ui?.close()
    await sink?.close()
  })
  afterEach(() => ui.operator.assertNoProblems())

  it('switches a config off and on with its toggle: a disabled config leaves events alone', async () => {
    const { page } = ui.operator
    await page.getByTestId('nav-configs').click()
    assert.deepEqual(await rowOrder(page), [enricher, tagger], 'first configured runs first')
    assert.ok((await page.getByTestId(`config-toggle-${enricher}`).isChecked()) && (await page.getByTestId(`config-toggle-${tagger}`).isChecked()))
    await storedTagBecomes('tagger')

    await page.getByTestId(`config-toggle-${tagger}`).uncheck()
    await until(
      'the tagger disabled',
      () => listConfigs(ui.fleet),
      (configs) => configs.find((c) => c.id === tagger)?.enabled === false,
    )
    await storedTagBecomes('enricher')
    await page.getByTestId(`config-toggle-${tagger}`).check()
    await until(
      'the tagger enabled',
      () => listConfigs(ui.fleet),
      (configs) => configs.every((c) => c.enabled),
    )
    await storedTagBecomes('tagger')
    await screenshot(page, 'configs-list')
  })

  it('reorders by drag and drop: the tagger now runs first, so the enricher writes the property last', async () => {
    const { page } = ui.operator
    await page.getByTestId(`config-row-${tagger}`).dragTo(page.getByTestId(`config-row-${enricher}`))
    await until('the new order stored', apiOrder, (ids) => ids[0] === tagger)
    assert.deepEqual(await rowOrder(page), [tagger, enricher], 'the list shows the new order')
    await storedTagBecomes('enricher')
  })

  it('reorders with the up/down buttons, back to the enricher first', async () => {
    const { page } = ui.operator
    await page.getByTestId(`config-down-${tagger}`).click()
    await until('the new order stored', apiOrder, (ids) => ids[0] === enricher)
    assert.deepEqual(await rowOrder(page), [enricher, tagger])
    await storedTagBecomes('tagger')

    await page.getByTestId(`config-up-${tagger}`).click()
    await until('the new order stored', apiOrder, (ids) => ids[0] === tagger)
    await page.reload()
    assert.deepEqual(await rowOrder(page), [tagger, enricher], 'the order survives a reload')
    await page.getByTestId(`config-up-${enricher}`).click()
    await until('the new order stored', apiOrder, (ids) => ids[0] === enricher)
    await storedTagBecomes('tagger')
  })

  it('shows a change made elsewhere (the API, the CLI, another tab) within its refresh, without a reload', async () => {
    const { page } = ui.operator
    const toggle = page.getByTestId(`config-toggle-${tagger}`)
    assert.equal(await toggle.isChecked(), true)
    await api(ui.fleet, 'POST', `/api/configs/${tagger}/disable`)
    await until(
      'the row to show the tagger disabled',
      () => toggle.isChecked(),
      (checked) => !checked,
      30_000,
    )
    await api(ui.fleet, 'POST', `/api/configs/${tagger}/enable`)
    await until(
      'the row to show the tagger enabled again',
      () => toggle.isChecked(),
      (checked) => checked,
      30_000,
    )
  })

  it("shows what the team's plugins hold in Redis, in meta.storage and in export deliveries waiting, against the team's limits, as the usage route counts it", async () => {
    const { page } = ui.operator
    // The enricher sets a cache key per distinct id of the events it sees.
    const [event] = makeEvents(1, { round: ++round }, 'usage-user')
    await sendEvents(ui.fleet, [event])
    await until(
      'the event stored',
      () => storedProperties(ui.fleet, [event.uuid]),
      (rows) => rows.length === 1,
    )
    const usage = await until(
      'the enricher holds something in Redis, and the event has left the export buffers',
      () => api<TeamUsage>(ui.fleet, 'GET', `/api/teams/${ui.fleet.team.id}/usage`),
      // Events buffered for exportEvents count as waiting until their flush: read once they settled, so the page shows the same.
      (u) => u.redis.bytes > 0 && u.exports.pending_events === 0,
    )
    await page.getByTestId('nav-plugins').click()
    await page.getByTestId('nav-configs').click()
    // As the UI writes sizes below a GB: bytes, then KB and MB with one decimal.
    const size = (bytes: number) =>
      bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`
    await waitForText(page.getByTestId('team-usage-redis'), (t) => t === `${size(usage.redis.bytes)} of 256.0 MB`, 'the Redis meter')
    assert.equal(await page.getByTestId('team-usage-storage').textContent(), `${size(usage.storage.bytes)} of 1.0 GB`)
    assert.equal(await page.getByTestId('team-usage-exports').textContent(), `${usage.exports.pending_events.toLocaleString('en-US')} of 400,000 events`)
    assert.match((await page.getByTestId('team-usage').textContent()) ?? '', /Redis: cache, cursors and pending jobs \(\d+ keys and jobs\)/)
  })

  it("the status page's export counters move as events arrive, with a chart", async () => {
    const { page } = ui.operator
    await page.getByTestId('nav-configs').click()
    await page.getByTestId(`config-open-${enricher}`).click()
    await page.getByTestId('tab-status').click()
    const seen = page.getByTestId('export-metric-events_seen')
    const delivered = page.getByTestId('export-metric-events_delivered_successfully')
    await seen.waitFor()
    const before = lastNumber(await seen.textContent())
    assert.ok(Number.isFinite(before), `events_seen shows a number: ${await seen.textContent()}`)
    const events = makeEvents(5, { counters: true })
    await sendEvents(ui.fleet, events)
    await until(
      'the sink got the events',
      async () => sink.deliveredUuids('/sink'),
      (uuids) => events.every((e) => uuids.includes(e.uuid)),
    )
    await waitForText(seen, (t) => lastNumber(t) >= before + 5, 'events_seen counts the new events', 20_000)
    await waitForText(delivered, (t) => lastNumber(t) >= 5, 'events_delivered_successfully moves', 20_000)
    // One line per export counter; the y axis tops out at the busiest minute, at least the 5 just sent.
    const chart = page.locator('svg[data-testid="export-chart"]')
    await waitForText(chart.locator('text').first(), (t) => lastNumber(t) >= 5, 'the chart scale', 20_000)
    assert.equal(await chart.locator('polyline').count(), 5)
    await waitForText(page.getByTestId('status-setup'), (t) => /ready/.test(t), 'setup ready')
    await screenshot(page, 'status')
  })
})
