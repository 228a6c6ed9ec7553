import assert from 'node:assert/strict'
import type { Page } from 'playwright-core'
import { screenshot } from '../harness/browser'
import {
  api,
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

interface ApiRow {
  id: number
  type: string
  message: string
}

/** The ids of the rows shown, top to bottom. */
function shownIds(page: Page): Promise<number[]> {
  return page.getByTestId('log-row').evaluateAll((rows: ElementData[]) => rows.map((r) => Number(r.dataset.id)))
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
    ui = await startUiFleet(['capture'])
    const { page } = ui.operator
    await uploadPlugin(page, ui.operator, packPlugin('ui-enricher', 'zip'))
    config = await configureThroughUi(page, ui.operator, ui.fleet, 'ui-enricher', { values: { greeting: 'hi', apiKey: SECRET_API_KEY } })
    // Started once the config exists, so it has read it before the first event (processing.test.ts).
    await ui.fleet.start('ingest-worker')
  })
  after(async () => ui?.close())
  afterEach(() => ui.operator.assertNoProblems())

  it("while following, shows exactly the API's rows (ids, order, none twice) as new rows arrive; an error row shows the plugin's stack", async () => {
    const { page } = ui.operator
    await openConfig(page, ui.operator, config, 'logs')
    assert.equal(await page.getByTestId('logs-follow').isChecked(), true, 'Follow is on by default')
    const apiRows = () => api<ApiRow[]>(ui.fleet, 'GET', `/api/configs/${config}/logs?limit=1000`)

    for (const round of [1, 2, 3]) {
      const names = [1, 2, 3].map((i) => `round ${round} event ${i}`)
      await sendEvents(
        ui.fleet,
        names.map((event, i) => ({ uuid: crypto.randomUUID(), event, distinctId: `round-user-${i}` })),
      )
      // The API's rows from the first one shown on (the tab shows the newest 100, then follows).
      const { shown } = await until(
        `round ${round}'s rows shown, the same as the API's`,
        async () => {
          const shown = await shownIds(page)
          const all = await apiRows()
          return { shown, expected: all.filter((r) => shown.length > 0 && r.id >= shown[0]), all }
        },
        ({ shown, expected }) =>
          names.every((n) => expected.some((r) => r.message.includes(`enriched ${n}`))) && JSON.stringify(shown) === JSON.stringify(expected.map((r) => r.id)),
      )
      assert.equal(new Set(shown).size, shown.length, 'no row is shown twice')
      assert.deepEqual(
        shown,
        [...shown].sort((a, b) => a - b),
        'oldest first, newest last',
      )
    }

    await sendEvents(ui.fleet, [{ uuid: crypto.randomUUID(), event: 'ui boom', distinctId: 'stack-user' }])
    const errorRow = page.getByTestId('log-row').filter({ hasText: 'refusing ui boom of stack-user' })
    const stack = await waitForText(errorRow.getByTestId('log-stack'), (t) => t.includes('at processEvent (plugin/'), "the error row's stack")
    assert.ok(!/\/(home|work|usr|tmp)\//.test(stack), `no host path in the stack: ${stack}`)
    assert.ok(!stack.includes('plugin-vm-runtime'), 'no frame of the sandbox runtime')
    const shown = await shownIds(page)
    const expected = (await apiRows()).filter((r) => r.id >= shown[0]).map((r) => r.id)
    assert.deepEqual(shown, expected, 'still exactly the API rows after the error row')
    await screenshot(page, 'logs-stack')
  })

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
