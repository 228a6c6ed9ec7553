import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { screenshot } from '../harness/browser'
import type { Page } from 'playwright-core'
import { api, lastNumber, openPlugin, packPlugin, startUiFleet, UiFleet, uploadPlugin, waitForText } from './admin-ui-fixture'

interface PluginDetail {
  version: number
  versions: { version: number }[]
}

/** Version numbers in the versions table: the first cell of each body row. */
async function listedVersions(page: Page): Promise<number[]> {
  const rows = page.getByTestId('plugin-versions').locator('tbody tr')
  await rows.first().waitFor()
  const cells = await rows.locator('td:first-child').allTextContents()
  return cells.map((c) => lastNumber(c)).sort((a, b) => a - b)
}

describe('admin UI: plugins page', function () {
  this.timeout(90_000)
  let ui: UiFleet

  before(async () => {
    ui = await startUiFleet(['capture'])
  })
  after(async () => ui?.close())
  afterEach(() => ui.operator.assertNoProblems())

  it('installs a plugin from an uploaded .zip; the detail page shows plugin.json and its versions', async () => {
    const { page } = ui.operator
    const result = await uploadPlugin(page, ui.operator, packPlugin('ui-enricher', 'zip'))
    assert.match(result, /installed/i)
    await page.getByTestId('plugin-row-ui-enricher').waitFor()
    await screenshot(page, 'plugins-list')

    await openPlugin(page, ui.operator, 'ui-enricher')
    assert.match((await page.getByTestId('plugin-detail-name').textContent()) ?? '', /ui-enricher/)
    const json = (await page.getByTestId('plugin-json').textContent()) ?? ''
    assert.match(json, /"publicJobs"/, 'plugin.json is shown as it was uploaded')
    assert.match(json, /"failExports"/)
    assert.deepEqual(await listedVersions(page), [1])
    await screenshot(page, 'plugin-detail')
  })

  it('an upload of a changed archive (.tar.gz) becomes version 2, listed next to version 1', async () => {
    const { page } = ui.operator
    const changed = packPlugin('ui-enricher', 'tar.gz', (dir) => {
      const file = path.join(dir, 'plugin.json')
      const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { description: string }
      json.description = 'Version two of the UI fixture.'
      fs.writeFileSync(file, JSON.stringify(json, null, 2))
    })
    assert.match(await uploadPlugin(page, ui.operator, changed), /updated/i)
    await openPlugin(page, ui.operator, 'ui-enricher')
    await waitForText(page.getByTestId('plugin-json'), (t) => t.includes('Version two of the UI fixture.'), 'the new plugin.json')
    assert.deepEqual(await listedVersions(page), [1, 2])
    const detail = await api<PluginDetail>(ui.fleet, 'GET', '/api/plugins/ui-enricher')
    assert.deepEqual(detail.versions.map((v) => v.version).sort(), [1, 2])
    await screenshot(page, 'plugin-detail-v2')

    // The same archive again changes nothing.
    assert.match(await uploadPlugin(page, ui.operator, changed), /unchanged/i)
  })
})
