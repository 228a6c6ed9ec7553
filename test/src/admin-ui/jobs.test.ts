import assert from 'node:assert/strict'
import { screenshot } from '../harness/browser'
import { configureThroughUi, lastNumber, openConfig, packPlugin, SECRET_API_KEY, startUiFleet, UiFleet, uploadPlugin, waitForText } from './admin-ui-fixture'

describe('admin UI: jobs tab (and scheduled tasks on Status)', function () {
  this.timeout(90_000)
  let ui: UiFleet
  let config: number

  before(async () => {
    ui = await startUiFleet(['capture', 'job-worker', 'scheduler'])
    const { page } = ui.operator
    await uploadPlugin(page, ui.operator, packPlugin('ui-enricher', 'zip'))
    config = await configureThroughUi(page, ui.operator, ui.fleet, 'ui-enricher', { values: { greeting: 'hi', apiKey: SECRET_API_KEY } })
  })
  after(async () => ui?.close())
  afterEach(() => ui.operator.assertNoProblems())

  it('triggers a public job from its payload form; a missing required field is named; the job completes and its metric shows on Status', async () => {
    const { page } = ui.operator
    await openConfig(page, ui.operator, config, 'jobs')
    const select = page.getByTestId('job-select')
    if ((await select.count()) > 0) await select.selectOption('announce')

    ui.operator.allow(400, /\/api\/configs\/\d+\/jobs\/announce$/)
    await page.getByTestId('job-payload-times').fill('3')
    await page.getByTestId('job-trigger').click()
    const error = page.getByTestId('job-error')
    await waitForText(error, (t) => /label/i.test(t) && /required/i.test(t), 'the error names the missing field')
    await waitForText(page.getByTestId('job-payload-error-label'), (t) => /required/i.test(t), 'the error next to the label field')
    assert.equal(await page.getByTestId('job-row').count(), 0, 'no job was enqueued')

    await page.getByTestId('job-payload-label').fill('from the UI')
    await page.getByTestId('job-trigger').click()
    await page.getByTestId('job-trigger-result').waitFor()
    const completed = page.locator('[data-testid="job-row"][data-name="announce"][data-state="completed"]')
    await completed.waitFor({ timeout: 20_000 })
    assert.match((await completed.textContent()) ?? '', /from the UI/, 'the row shows the payload')
    await screenshot(page, 'jobs')

    await page.getByTestId('tab-status').click()
    await waitForText(page.getByTestId('plugin-metric-announcements'), (t) => lastNumber(t) === 3, 'the announcements metric', 20_000)
    // The scheduler runs runEveryMinute (a minute is 0.6 s here): its runs show next to the task.
    await page.getByTestId('scheduled-runEveryMinute').locator('.badge', { hasText: /^ok$/ }).first().waitFor()
    await screenshot(page, 'status-jobs-scheduled')
  })

  it('offers the public jobs in the order plugin.json declares them, the first one preselected', async () => {
    const { page } = ui.operator
    // admin-jobs declares greet, leak, chain, flaky; its stored plugin.json keeps them shortest first (leak first).
    await uploadPlugin(page, ui.operator, packPlugin('admin-jobs', 'zip'))
    const id = await configureThroughUi(page, ui.operator, ui.fleet, 'admin-jobs', { values: { apiKey: SECRET_API_KEY }, enabled: false })
    await openConfig(page, ui.operator, id, 'jobs')
    const select = page.getByTestId('job-select')
    await select.waitFor()
    assert.equal(await select.inputValue(), 'greet')
    assert.deepEqual(await select.locator('option').allTextContents(), ['greet', 'leak', 'chain', 'flaky'])
  })
})
