import assert from 'node:assert/strict'
import { BrowserSession, login, screenshot } from '../harness/browser'
import { runCli } from '../harness/processes'
import { api, listConfigs, OPERATOR_TOKEN, packPlugin, startUiFleet, UiFleet, uploadPlugin } from './admin-ui-fixture'

describe('admin UI: login and who sees what', function () {
  this.timeout(90_000)
  let ui: UiFleet
  let other: { id: number; name: string }
  let teamToken: string

  before(async () => {
    ui = await startUiFleet(['capture'])
    const { operator } = ui
    await uploadPlugin(operator.page, operator, packPlugin('ui-tagger', 'tar.gz'))
    other = await api(ui.fleet, 'POST', '/api/teams', { name: 'other team' })
    // One config in each team: the team token must see its own and not the other's.
    await api(ui.fleet, 'POST', `/api/teams/${ui.fleet.team.id}/configs`, { plugin_id: 'ui-tagger', config: { tag: 'mine' } })
    await api(ui.fleet, 'POST', `/api/teams/${other.id}/configs`, { plugin_id: 'ui-tagger', config: { tag: 'theirs' } })
    const created = await runCli(['team', 'token', 'create', String(ui.fleet.team.id), '--name', 'ui test'], ui.fleet.env)
    assert.equal(created.code, 0, created.stderr)
    teamToken = (JSON.parse(created.stdout) as { token: string }).token
  })
  after(async () => ui?.close())
  afterEach(() => ui.operator.assertNoProblems())

  it('refuses a wrong token with a message, and shows the plugin list to the operator', async () => {
    const session = await BrowserSession.open(ui.browser, ui.fleet.captureUrl)
    try {
      const { page } = session
      session.allow(401, /\/api\//)
      await session.goto('')
      await page.getByTestId('login-token').fill('not-the-right-token-at-all')
      await screenshot(page, 'login')
      await page.getByTestId('login-submit').click()
      const error = page.getByTestId('login-error')
      await error.waitFor()
      assert.ok(((await error.textContent()) ?? '').trim() !== '', 'the login error says something')
      assert.equal(await page.getByTestId('logout').count(), 0, 'not signed in')
      await screenshot(page, 'login-error')

      await login(page, OPERATOR_TOKEN)
      await session.goto('#/plugins')
      await page.getByTestId('plugin-row-ui-tagger').waitFor()
      await page.getByTestId('plugin-upload').waitFor({ state: 'attached' })
      await page.getByTestId('team-select').waitFor()
      const teams = await page.getByTestId('team-select').locator('option').allTextContents()
      assert.ok(teams.some((t) => t.includes('other team')) && teams.some((t) => t.includes('test team')), `the operator picks any team: ${teams.join(', ')}`)
      session.assertNoProblems()
    } finally {
      await session.close()
    }
  })

  it("a team token sees only its own team's configs, with no team picker and no upload", async () => {
    const session = await BrowserSession.open(ui.browser, ui.fleet.captureUrl)
    try {
      const { page } = session
      await session.goto('')
      await login(page, teamToken)
      await session.goto('#/plugins')
      await page.getByTestId('plugin-row-ui-tagger').waitFor()
      assert.equal(await page.getByTestId('plugin-upload').count(), 0, 'no upload for a team token')
      assert.equal(await page.getByTestId('team-select').count(), 0, 'no team picker for a team token')

      const [mine] = await listConfigs(ui.fleet)
      const [theirs] = await listConfigs(ui.fleet, other.id)
      await page.getByTestId('nav-configs').click()
      await page.getByTestId(`config-row-${mine.id}`).waitFor()
      assert.equal(await page.getByTestId(`config-row-${theirs.id}`).count(), 0, "the other team's config is not listed")
      assert.equal(await page.locator('[data-testid^="config-row-"]').count(), 1)
      await screenshot(page, 'team-token-configs')

      const calls = await session.apiResponses()
      assert.ok(!calls.some((c) => c.url.includes(`/teams/${other.id}/`)), "the page never asked for the other team's data")
      session.assertNoProblems()
    } finally {
      await session.close()
    }
  })

  it('logs out', async () => {
    const session = await BrowserSession.open(ui.browser, ui.fleet.captureUrl)
    try {
      await session.goto('')
      await login(session.page, OPERATOR_TOKEN)
      await session.page.getByTestId('logout').click()
      await session.page.getByTestId('login-token').waitFor()
      session.assertNoProblems()
    } finally {
      await session.close()
    }
  })
})
