import assert from 'node:assert/strict'
import { createConfig } from '@plugin-server/management'
import { screenshot } from '../harness/browser'
import { managementContext } from '../harness/plugins'
import { storeUncompiledPlugin } from '../harness/stored-plugin'
import { makeEvents, openConfig, openPlugin, sendEvents, startUiFleet, UiFleet, waitForText } from './admin-ui-fixture'

const REASON = 'plugin left-pad-user failed to compile: index.ts:1: module "left-pad" is not available to plugins'

describe('admin UI: a config whose plugin fails to load', function () {
  this.timeout(120_000)
  let ui: UiFleet
  let management: ReturnType<typeof managementContext>
  let config: number

  before(async () => {
    // TIME_SCALE 1: the next load attempt is 5 s away, long enough to read it on the page.
    ui = await startUiFleet(['capture'], { TIME_SCALE: '1' })
    management = managementContext(ui.fleet.db.pool, ui.fleet.env.QUEUE_PREFIX)
    // Stored as from before the compiler refused it: `plugin install` rejects it today.
    const plugin = await storeUncompiledPlugin(ui.fleet.db.pool, {
      'plugin.json': JSON.stringify({ name: 'left-pad-user', config: [{ key: 'token', name: 'API token', type: 'string', hint: 'Sent as is.' }] }),
      'index.ts': `import leftPad from 'left-pad'\nexport function processEvent(e) { e.properties.padded = leftPad('7', 3, '0'); return e }`,
    })
    config = (await createConfig(management, { teamId: ui.fleet.team.id, plugin: plugin.id, config: { token: 't' }, enabled: true })).id
    // Started once the config exists, so it has read it before the event: a worker already running
    // learns of it from a reload message, and a busy one can take the event first and never try it.
    await ui.fleet.start('ingest-worker')
    // An event of the team makes the ingest worker try to load the config.
    await sendEvents(ui.fleet, makeEvents(1))
  })
  after(async () => {
    await management?.close()
    await ui?.close()
  })
  afterEach(() => ui.operator.assertNoProblems())

  it('shows the load as failed on the status tab, with the attempt, the next attempt and the reason', async () => {
    const { page } = ui.operator
    // The page was loaded at login, before the config was made outside the UI.
    await ui.operator.goto('#/configs')
    await page.reload()
    await openConfig(page, ui.operator, config, 'status')
    // The tab polls every 3 s: the worker may take a moment to try the config after the event.
    await page.locator('[data-testid="status-setup"][data-state="failed"]').waitFor({ timeout: 30_000 })
    const setup = await waitForText(page.getByTestId('status-setup'), (t) => t.includes('next attempt'), 'the attempt and when the next one is due')
    assert.match(setup, /^failed to load, attempt \d+, next attempt /)
    assert.equal(await page.getByTestId('status-setup-error').textContent(), `loading the plugin: ${REASON}`)
    const last = await waitForText(page.getByTestId('status-last-error'), (t) => t.includes(REASON), 'the last error')
    assert.ok(last.startsWith('Last error'), last)
    await screenshot(page, 'status-load-failed')
  })

  it('labels a config field with its plugin.json name', async () => {
    const { page } = ui.operator
    await openPlugin(page, ui.operator, 'left-pad-user')
    // The team has its config already (so Configure is not offered): its settings form shows the fields.
    await page.getByTestId('plugin-existing-config').click()
    assert.equal(await page.getByLabel('API token').getAttribute('data-testid'), 'field-token')
  })
})
