import assert from 'node:assert/strict'
import { startUiFleet, UiFleet } from './admin-ui-fixture'

describe('admin UI: lists longer than one API page', function () {
  this.timeout(90_000)
  let ui: UiFleet

  before(async () => {
    ui = await startUiFleet(['capture'])
  })
  after(async () => ui?.close())
  afterEach(() => ui.operator.assertNoProblems())

  it('the team picker offers every team and the plugins page lists every plugin, following the API pages', async () => {
    const { page } = ui.operator
    // More than GET /api/teams' default page (1 000) and GET /api/plugins' (500).
    await ui.fleet.db.pool.query(`INSERT INTO teams (name, api_token) SELECT 'long team ' || n, 'phc_long_' || n FROM generate_series(1, 1100) AS n`)
    await ui.fleet.db.pool.query(
      `INSERT INTO plugins (name, plugin_json, content_hash) SELECT 'long-' || lpad(n::text, 4, '0'), '{}', md5(n::text) FROM generate_series(1, 520) AS n`,
    )
    const teams = await ui.fleet.db.pool.query<{ id: number }>('SELECT id FROM teams ORDER BY id')

    await ui.operator.goto('#/plugins')
    await page.reload()
    await page.getByTestId('plugin-row-long-0520').waitFor()
    assert.equal(await page.getByTestId('plugins-table').locator('tbody tr').count(), 520)
    const options = page.getByTestId('team-select').locator('option')
    assert.equal(await options.count(), teams.rows.length)
    assert.match((await options.last().textContent()) ?? '', new RegExp(`\\(#${teams.rows[teams.rows.length - 1].id}\\)$`))

    const urls = (await ui.operator.apiResponses()).map((r) => r.url)
    assert.ok(
      urls.some((u) => /\/api\/teams\?after=\d+$/.test(u)),
      `the second page of teams was asked for: ${urls.join(', ')}`,
    )
    assert.ok(
      urls.some((u) => /\/api\/plugins\?after=long-0500$/.test(u)),
      `the second page of plugins was asked for: ${urls.join(', ')}`,
    )
  })
})
