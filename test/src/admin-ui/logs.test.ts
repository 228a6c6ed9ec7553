import assert from 'node:assert/strict'
import type { Page } from 'playwright-core'
import { screenshot } from '../harness/browser'
import {
  configureThroughUi,
  ElementData,
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

interface Row {
  level: string
  source: string
  text: string
}

function logRows(page: Page): Promise<Row[]> {
  return page
    .getByTestId('log-row')
    .evaluateAll((rows: ElementData[]) => rows.map((r) => ({ level: r.dataset.level ?? '', source: r.dataset.source ?? '', text: r.textContent ?? '' })))
}

/** Waits until the rows shown satisfy `ok`, without touching the page. */
function rowsUntil(page: Page, what: string, ok: (rows: Row[]) => boolean): Promise<Row[]> {
  return until(what, () => logRows(page), ok, 20_000)
}

/** Checks exactly the boxes named in `keep` among those whose test id starts with `prefix`. */
async function onlyChecked(page: Page, prefix: string, keep: string[]): Promise<void> {
  const boxes = page.locator(`[data-testid^="${prefix}"]`)
  for (const box of await boxes.all()) {
    const name = ((await box.getAttribute('data-testid')) ?? '').slice(prefix.length)
    await box.setChecked(keep.includes(name))
  }
}

describe('admin UI: live logs', function () {
  this.timeout(90_000)
  let ui: UiFleet
  let config: number

  before(async () => {
    ui = await startUiFleet(['capture', 'ingest-worker'])
    const { page } = ui.operator
    await uploadPlugin(page, ui.operator, packPlugin('ui-enricher', 'zip'))
    config = await configureThroughUi(page, ui.operator, ui.fleet, 'ui-enricher', { values: { greeting: 'hi', apiKey: SECRET_API_KEY } })
  })
  after(async () => ui?.close())
  afterEach(() => ui.operator.assertNoProblems())

  it('with Follow on, new log lines appear without a reload; level, source and search filters narrow them', async () => {
    const { page } = ui.operator
    await openConfig(page, ui.operator, config, 'logs')
    const follow = page.getByTestId('logs-follow')
    if (!(await follow.isChecked())) await follow.check()
    // A reload would lose this marker.
    await page.evaluate('window.__sameDocument = true')
    const before = (await logRows(page)).length

    await sendEvents(ui.fleet, [
      { uuid: crypto.randomUUID(), event: 'followed one', distinctId: 'log-user-a' },
      { uuid: crypto.randomUUID(), event: 'followed two', distinctId: 'log-user-b' },
    ])
    const rows = await rowsUntil(page, 'the new lines shown', (r) =>
      ['followed one', 'followed two'].every((e) => r.some((row) => row.text.includes(`enriched ${e}`))),
    )
    assert.ok(rows.length > before, 'rows were added')
    assert.equal(await page.evaluate('window.__sameDocument === true'), true, 'the page was not reloaded')
    assert.ok(
      rows.some((r) => r.level === 'WARN' && r.text.includes('no lookup entry for log-user-a')),
      'console.warn is a WARN line',
    )
    assert.ok(rows.some((r) => r.source === 'CONSOLE' && r.level === 'LOG'))
    await screenshot(page, 'logs')

    await onlyChecked(page, 'logs-level-', ['WARN'])
    const warnings = await rowsUntil(page, 'only WARN lines', (r) => r.length > 0 && r.every((row) => row.level === 'WARN'))
    assert.ok(warnings.some((r) => r.text.includes('log-user-b')))

    await page.getByTestId('logs-search').fill('log-user-b')
    const found = await rowsUntil(
      page,
      'only WARN lines about log-user-b',
      (r) => r.length > 0 && r.every((row) => row.level === 'WARN' && row.text.includes('log-user-b')),
    )
    assert.ok(found.length < warnings.length, 'the search narrowed the list')

    // Still following with the filters on: a new warning about log-user-b shows up, other lines do not.
    await sendEvents(ui.fleet, [{ uuid: crypto.randomUUID(), event: 'followed three', distinctId: 'log-user-b' }])
    await rowsUntil(
      page,
      'the next matching line',
      (r) => r.length === found.length + 1 && r.every((row) => row.level === 'WARN' && row.text.includes('log-user-b')),
    )
    await screenshot(page, 'logs-filtered')

    await page.getByTestId('logs-search').fill('')
    await onlyChecked(page, 'logs-level-', ['DEBUG', 'LOG', 'INFO', 'WARN', 'ERROR'])
    await onlyChecked(page, 'logs-source-', ['SYSTEM'])
    await rowsUntil(page, 'only SYSTEM lines', (r) => r.length > 0 && r.every((row) => row.source === 'SYSTEM'))

    // A processEvent that throws: an ERROR line, and the config's last error on the Status tab.
    await onlyChecked(page, 'logs-source-', ['SYSTEM', 'PLUGIN', 'CONSOLE'])
    await onlyChecked(page, 'logs-level-', ['ERROR'])
    await sendEvents(ui.fleet, [{ uuid: crypto.randomUUID(), event: 'ui boom', distinctId: 'log-user-c' }])
    await rowsUntil(
      page,
      'the error line',
      (r) => r.some((row) => row.text.includes('refusing ui boom of log-user-c')) && r.every((row) => row.level === 'ERROR'),
    )
    await page.getByTestId('tab-status').click()
    await waitForText(page.getByTestId('status-last-error'), (t) => t.includes('refusing ui boom of log-user-c'), 'the last error on Status')
  })
})
