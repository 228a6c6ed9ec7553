import assert from 'node:assert/strict'
import { screenshot } from '../harness/browser'
import {
  api,
  configureThroughUi,
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

interface SetupView {
  setup: { status: string; attempts: number; next_attempt_at: string | null; last_error: string | null }
}

describe('admin UI: status tab, setup state', function () {
  this.timeout(90_000)
  let ui: UiFleet
  let config: number

  before(async () => {
    // The fleet's setup state is what the workers that load the config publish. TIME_SCALE 10 and
    // 100 attempts keep the config retrying for minutes instead of being disabled within the test.
    ui = await startUiFleet(['capture', 'ingest-worker'], { TIME_SCALE: '10', PLUGIN_SETUP_MAX_ATTEMPTS: '100' })
    const { page } = ui.operator
    await uploadPlugin(page, ui.operator, packPlugin('admin-setup-retry', 'zip'))
    config = await configureThroughUi(page, ui.operator, ui.fleet, 'admin-setup-retry', { values: { apiKey: SECRET_API_KEY } })
    // An event of the team makes the ingest worker load the config, which runs setupPlugin.
    await sendEvents(ui.fleet, makeEvents(1))
  })
  after(async () => ui?.close())
  afterEach(() => ui.operator.assertNoProblems())

  it('shows a setupPlugin that throws RetryError as retrying: the attempt, when the next one is due, and the error without the secret', async () => {
    const { page } = ui.operator
    await openConfig(page, ui.operator, config, 'status')
    const setup = page.getByTestId('status-setup')
    // The tab polls every 3 s: the worker may take a moment to set the config up after the event.
    await page.locator('[data-testid="status-setup"][data-state="retrying"]').waitFor({ timeout: 30_000 })

    // What the page shows is what the API says, the time in the browser's own format.
    const { text, status } = await until(
      'the attempt and next attempt time shown as the API has them',
      async () => {
        const status = await api<SetupView>(ui.fleet, 'GET', `/api/configs/${config}/status`)
        const next = status.setup.next_attempt_at
        const expected = next === null ? null : await page.evaluate((iso) => new Date(iso).toLocaleString(), next)
        return { text: (await setup.textContent()) ?? '', status, expected }
      },
      ({ text, status, expected }) =>
        status.setup.status === 'retrying' && expected !== null && text.includes(`attempt ${status.setup.attempts}, next attempt ${expected}`),
    )
    assert.match(text, /^retrying attempt \d+, next attempt /)
    assert.ok(status.setup.attempts >= 1, JSON.stringify(status.setup))
    assert.equal(await setup.getAttribute('data-state'), 'retrying')

    const error = await waitForText(page.getByTestId('status-setup-error'), (t) => t.includes('service not ready'), 'the setup error')
    assert.match(error, /^setupPlugin: service not ready for key \*\*\*$/, 'the secret in the message is redacted')
    assert.ok(!(await page.content()).includes(SECRET_API_KEY), 'the page shows the secret')
    for (const r of await ui.operator.apiResponses()) assert.ok(!r.body.includes(SECRET_API_KEY), `${r.method} ${r.url} answered the secret`)
    await screenshot(page, 'status-setup-retrying')
  })
})
