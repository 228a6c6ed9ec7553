import assert from 'node:assert/strict'
import { screenshot } from '../harness/browser'
import {
  configureThroughUi,
  fillConfigForm,
  listConfigs,
  openConfig,
  openPlugin,
  packPlugin,
  SECRET_API_KEY,
  startUiFleet,
  tempFile,
  UiFleet,
  until,
  uploadPlugin,
  waitForText,
} from './admin-ui-fixture'

describe('admin UI: config form', function () {
  this.timeout(90_000)
  let ui: UiFleet

  before(async () => {
    ui = await startUiFleet(['capture'])
    await uploadPlugin(ui.operator.page, ui.operator, packPlugin('ui-enricher', 'zip'))
  })
  after(async () => ui?.close())
  afterEach(() => ui.operator.assertNoProblems())

  it('renders markdown, shows an error next to a missing required field, saves with the secret and the attachment, and never shows the secret again', async () => {
    const { page } = ui.operator
    const lookup = tempFile('lookup.json', JSON.stringify({ 'user-1': 'gold', 'user-2': 'silver' }))
    await openPlugin(page, ui.operator, 'ui-enricher')
    await page.getByTestId('plugin-configure').click()
    assert.equal(await page.getByTestId('config-enabled').isChecked(), false, 'a new config starts disabled, as with config create and the API')

    // plugin.json markdown and hints are rendered, not shown as source.
    const markdown = page.getByTestId('markdown-block').first()
    await markdown.locator('strong', { hasText: 'greeting' }).waitFor()
    assert.equal(await markdown.locator('a[href="https://example.invalid/lookup"]').count(), 1, 'the markdown link is a link')
    assert.ok(!((await markdown.textContent()) ?? '').includes('**'), 'no markdown source left')
    await page.getByTestId('field-hint-greeting').locator('code', { hasText: 'greeting' }).waitFor()
    assert.equal(
      await page
        .getByTestId('field-secret-state-apiKey')
        .textContent()
        .then((t) => t?.trim()),
      'not set',
    )

    // greeting is required and left empty: the error sits next to that field.
    ui.operator.allow(400, /\/api\/teams\/\d+\/configs$/)
    await fillConfigForm(page, { values: { apiKey: SECRET_API_KEY, mode: 'lower' }, files: { lookup } })
    await page.getByTestId('config-save').click()
    const error = page.getByTestId('field-error-greeting')
    await error.waitFor()
    assert.match((await error.textContent()) ?? '', /required/i)
    assert.equal(await page.getByTestId('config-saved').count(), 0)
    assert.equal((await listConfigs(ui.fleet)).length, 0, 'nothing was saved')
    await screenshot(page, 'config-form-validation-error')

    await fillConfigForm(page, { values: { greeting: 'Hello There' } })
    await page.getByTestId('config-save').click()
    await page.getByTestId('config-saved').waitFor()
    const [config] = await until(
      'the saved config',
      () => listConfigs(ui.fleet),
      (c) => c.length === 1,
    )
    assert.equal(config.config.greeting, 'Hello There')
    assert.equal(config.config.mode, 'lower')
    assert.deepEqual(config.secret_fields, { apiKey: 'set' })

    // The form as it is opened again: the secret is "set", its input empty.
    await openConfig(page, ui.operator, config.id, 'settings')
    await waitForText(page.getByTestId('field-secret-state-apiKey'), (t) => t.trim() === 'set', 'the secret shows as set')
    assert.equal(await page.getByTestId('field-apiKey').inputValue(), '', 'the secret input is empty')
    assert.equal(await page.getByTestId('field-greeting').inputValue(), 'Hello There')
    await waitForText(page.locator('body'), (t) => t.includes('lookup.json'), 'the attachment is listed by its file name')
    await screenshot(page, 'config-form-secret-set')

    // Saving another field keeps the secret.
    await fillConfigForm(page, { values: { greeting: 'Hi Again' } })
    await page.getByTestId('config-save').click()
    await page.getByTestId('config-saved').waitFor()
    const [after] = await until(
      'the updated config',
      () => listConfigs(ui.fleet),
      (c) => c[0]?.config.greeting === 'Hi Again',
    )
    assert.deepEqual(after.secret_fields, { apiKey: 'set' })

    const responses = await ui.operator.apiResponses()
    assert.ok(responses.length > 5, 'the page talked to the API')
    for (const r of responses) assert.ok(!r.body.includes(SECRET_API_KEY), `${r.method} ${r.url} answered the secret`)
    const dom = await page.content()
    assert.ok(!dom.includes(SECRET_API_KEY), 'the secret is nowhere in the DOM')
    const inputs = await page.locator('input, textarea').evaluateAll((all: { value: string }[]) => all.map((e) => e.value))
    assert.ok(!inputs.includes(SECRET_API_KEY), 'no input holds the secret')
  })

  it('clears a stored optional secret with its clear control, keeps it when the clear is undone, and offers none for a required one', async () => {
    const { page } = ui.operator
    await uploadPlugin(page, ui.operator, packPlugin('management-basic', 'zip'))
    // region is an optional secret (a choice); apiKey a required one.
    const id = await configureThroughUi(page, ui.operator, ui.fleet, 'management-basic', {
      values: { apiKey: SECRET_API_KEY, label: 'L', region: 'eu' },
      enabled: false,
    })
    const secrets = async () => (await listConfigs(ui.fleet)).find((c) => c.id === id)?.secret_fields
    assert.deepEqual(await secrets(), { apiKey: 'set', region: 'set' })

    await openConfig(page, ui.operator, id, 'settings')
    await waitForText(page.getByTestId('field-secret-state-region'), (t) => t.trim() === 'set', 'region shows as set')
    assert.equal(await page.getByTestId('field-clear-apiKey').count(), 0, 'a required secret has no clear control')

    // Marked, then undone: saving another field keeps the secret.
    await page.getByTestId('field-clear-region').click()
    await page.getByTestId('field-keep-region').click()
    await fillConfigForm(page, { values: { label: 'L2' } })
    await page.getByTestId('config-save').click()
    await page.getByTestId('config-saved').waitFor()
    await until(
      'the label saved',
      () => listConfigs(ui.fleet),
      (c) => c.find((x) => x.id === id)?.config.label === 'L2',
    )
    assert.deepEqual(await secrets(), { apiKey: 'set', region: 'set' })

    await page.getByTestId('field-clear-region').click()
    await page.getByTestId('config-save').click()
    await page.getByTestId('config-saved').waitFor()
    await until('region cleared', secrets, (s) => s?.region === 'not set')
    assert.deepEqual(await secrets(), { apiKey: 'set', region: 'not set' })
    await waitForText(page.getByTestId('field-secret-state-region'), (t) => t.trim() === 'not set', 'region shows as not set')
    assert.equal(await page.getByTestId('field-clear-region').count(), 0, 'nothing stored is left to clear')
    for (const r of await ui.operator.apiResponses()) assert.ok(!r.body.includes(SECRET_API_KEY), `${r.method} ${r.url} answered the secret`)
  })
})
