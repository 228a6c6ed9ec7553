import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { screenshot } from '../harness/browser'
import {
  configureThroughUi,
  listConfigs,
  openConfig,
  packPlugin,
  SECRET_API_KEY,
  startUiFleet,
  tempFile,
  UiFleet,
  uploadPlugin,
  waitForText,
} from './admin-ui-fixture'

describe('admin UI: try it', function () {
  this.timeout(90_000)
  let ui: UiFleet
  let config: number

  before(async () => {
    ui = await startUiFleet(['capture'])
    const { page } = ui.operator
    await uploadPlugin(page, ui.operator, packPlugin('ui-enricher', 'zip'))
    const lookup = tempFile('lookup.csv', 'try-user,platinum\nother,bronze\n')
    config = await configureThroughUi(page, ui.operator, ui.fleet, 'ui-enricher', {
      values: { greeting: 'Tried', apiKey: SECRET_API_KEY, mode: 'lower' },
      files: { lookup },
      enabled: false,
    })
  })
  after(async () => ui?.close())
  afterEach(() => ui.operator.assertNoProblems())

  it('runs a sample event through a config that is not enabled: output, logs and host calls, nothing performed', async () => {
    const { page } = ui.operator
    assert.equal((await listConfigs(ui.fleet))[0].enabled, false)
    await page.getByTestId('nav-try').click()
    await page.locator('[data-testid^="try-sample-"]').first().click()
    const event = page.getByTestId('try-event')
    await event.waitFor()
    const sample = JSON.parse(await event.inputValue()) as { distinct_id?: string; properties?: Record<string, unknown> }
    assert.ok(sample.distinct_id, 'the sample is an event')
    // A distinct id the lookup file knows, so the output proves the attachment was used.
    await event.fill(JSON.stringify({ ...sample, distinct_id: 'try-user' }, null, 2))

    await page.getByTestId('try-target').selectOption(`config:${config}`)
    await page.getByTestId('try-run').click()
    const output = page.getByTestId('try-output')
    const text = await waitForText(output, (t) => t.includes('greeting'), 'the output event')
    assert.match(text, /"?greeting"?\s*:\s*"tried"/, 'the plugin lower-cased the greeting')
    assert.match(text, /platinum/, 'the segment came from the uploaded lookup file')
    assert.match(text, /"?chain_tag"?\s*:\s*"enricher"/)

    const setup = page.locator('[data-testid="try-step"][data-method="setupPlugin"]')
    await waitForText(setup.getByTestId('try-logs'), (t) => t.includes('setup: 2 lookup entries'), 'setupPlugin read the CSV attachment')
    const step = page.locator('[data-testid="try-step"][data-method="processEvent"]')
    await step.waitFor()
    await waitForText(step.getByTestId('try-logs'), (t) => t.includes('enriched') && !t.includes('no lookup entry'), 'the console.log line')
    const cacheSet = step.getByTestId('try-host-calls').locator('tr', { hasText: 'cache.set' })
    await waitForText(cacheSet, (t) => t.includes('last-event:try-user'), 'the cache.set call with its arguments')
    assert.match((await cacheSet.textContent()) ?? '', /not performed/i, 'the write was recorded, not performed')
    assert.equal(await page.getByTestId('try-error').count(), 0)
    await screenshot(page, 'try-it')

    // The whole chain runs only enabled configs: this one is not among them.
    await page.getByTestId('try-target').selectOption('chain')
    await page.getByTestId('try-run').click()
    await waitForText(output, (t) => t.includes('try-user') && !t.includes('greeting'), 'the chain leaves the event alone')
    assert.equal(await page.getByTestId('try-step').count(), 0, 'no plugin ran')

    const responses = await ui.operator.apiResponses()
    for (const r of responses) assert.ok(!r.body.includes(SECRET_API_KEY), `${r.method} ${r.url} answered the secret`)
    assert.equal((await listConfigs(ui.fleet))[0].enabled, false, 'trying did not enable the config')

    // The config's own page offers the same run, with the config picked.
    await openConfig(page, ui.operator, config)
    await page.getByTestId('try-this-config').click()
    await page.getByTestId('try-event').waitFor()
    assert.equal(await page.getByTestId('try-target').inputValue(), `config:${config}`)
    const redis = new Redis(process.env.REDIS_URL!)
    try {
      const written = await redis.keys(`${ui.fleet.env.QUEUE_PREFIX}:cache:*`)
      assert.deepEqual(written, [], "the plugin's cache.set was not performed")
    } finally {
      redis.disconnect()
    }
  })

  it('runs a plugin not configured yet with a file chosen for its attachment field, sent base64 and read by the plugin', async () => {
    const { page } = ui.operator
    await uploadPlugin(page, ui.operator, packPlugin('management-attachment', 'zip'))
    await page.getByTestId('nav-try').click()
    await page.getByTestId('try-event').fill(JSON.stringify({ event: 'try attachment', distinct_id: 'file-user' }))
    await page.getByTestId('try-target').selectOption({ label: 'management-attachment' })

    // Required like on the config form: nothing is sent until a file is chosen.
    await page.getByTestId('try-run').click()
    await waitForText(page.getByTestId('field-error-rules'), (t) => /choose a file/i.test(t), 'the missing file named on its field')
    assert.match((await page.getByTestId('try-error').textContent()) ?? '', /required settings/)

    const rules = '{"a":1,"b":2,"c":3}'
    await page.getByTestId('field-rules').setInputFiles(tempFile('rules.json', rules))
    const sent = page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname.endsWith('/try'))
    await page.getByTestId('try-run').click()
    const body = (await sent).postDataJSON() as { target: { plugin_id: number; attachments: Record<string, { file_name: string; contents_base64: string }> } }
    assert.equal(body.target.attachments.rules.file_name, 'rules.json')
    assert.equal(Buffer.from(body.target.attachments.rules.contents_base64, 'base64').toString(), rules)

    const text = await waitForText(page.getByTestId('try-output'), (t) => t.includes('rule_count'), 'the output event')
    assert.match(text, /"?rule_count"?\s*:\s*3/, 'setupPlugin parsed the chosen file')
    assert.equal(await page.getByTestId('try-error').count(), 0)
    assert.equal(await page.locator('[data-testid="try-step"][data-method="setupPlugin"]').getByTestId('try-step-error').count(), 0)
    await screenshot(page, 'try-it-plugin-attachment')
    assert.deepEqual(
      (await listConfigs(ui.fleet)).map((c) => c.plugin_name),
      ['ui-enricher'],
      'trying did not configure the plugin',
    )
  })
})
