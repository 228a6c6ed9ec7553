import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { createConfig, createTeamAdminToken, installPluginFromPath } from '@plugin-server/management'
import { screenshot } from '../harness/browser'
import { managementContext, writePlugin } from '../harness/plugins'
import { api, OPERATOR_TOKEN, openConfig, openPlugin, startUiFleet, UiFleet, waitForText } from './admin-ui-fixture'

interface PluginDetail {
  version: number
  versions: { version: number; current: boolean; config_count: number }[]
}

interface VersionedConfig {
  id: number
  plugin_version: number
  pinned_version: number | null
}

/** Version 2 adds a `farewell` field: the config form shows the fields of the version the config runs. */
function versionDir(version: number): string {
  const fields = [{ key: 'greeting', name: 'Greeting', type: 'string' }, ...(version === 2 ? [{ key: 'farewell', name: 'Farewell', type: 'string' }] : [])]
  const dir = writePlugin(
    'ui-versioned',
    `export function processEvent(e) { e.properties.version = ${version}; return e }\nexport const jobs = { job${version}: async () => undefined }`,
    fields,
  )
  // Each version has its own public job: the jobs tab shows those of the version a config runs.
  fs.writeFileSync(path.join(dir, 'plugin.json'), JSON.stringify({ name: 'ui-versioned', config: fields, publicJobs: { [`job${version}`]: { payload: {} } } }))
  return dir
}

describe('admin UI: plugin versions', function () {
  this.timeout(90_000)
  let ui: UiFleet
  let management: ReturnType<typeof managementContext>
  let configId: number

  before(async () => {
    ui = await startUiFleet(['capture'])
    management = managementContext(ui.fleet.db.pool, ui.fleet.env.QUEUE_PREFIX)
    await installPluginFromPath(management, versionDir(1))
    await installPluginFromPath(management, versionDir(2))
    configId = (await createConfig(management, { teamId: ui.fleet.team.id, plugin: 'ui-versioned', config: { greeting: 'hi' } })).id
  })
  after(async () => {
    await management?.close()
    await ui?.close()
  })
  afterEach(() => ui.operator.assertNoProblems())

  /** [the version it runs, its pin] as the API says. */
  const runs = async () => {
    const view = await api<VersionedConfig>(ui.fleet, 'GET', `/api/configs/${configId}`)
    return [view.plugin_version, view.pinned_version]
  }

  it('the plugin page lists each version with its configs; "Make current" rolls back to version 1', async () => {
    const { page } = ui.operator
    await openPlugin(page, ui.operator, 'ui-versioned')
    await page.getByTestId('plugin-version-current-2').waitFor()
    assert.equal(await page.getByTestId('plugin-version-configs-2').textContent(), '1')
    assert.equal(await page.getByTestId('plugin-version-configs-1').textContent(), '0')
    await page.getByTestId('plugin-version-make-current-1').click()
    await page.getByTestId('plugin-version-confirm-1').click()
    await waitForText(page.getByTestId('plugin-version-message'), (t) => /rolled back from version 2 to version 1/.test(t), 'the rollback message')
    await page.getByTestId('plugin-version-current-1').waitFor()
    await waitForText(page.getByTestId('plugin-version-configs-1'), (t) => t === '1', 'the config counted on version 1')
    await screenshot(page, 'plugin-versions-rolled-back')
    const detail = await api<PluginDetail>(ui.fleet, 'GET', '/api/plugins/ui-versioned')
    assert.equal(detail.version, 1)
    assert.deepEqual(await runs(), [1, null])
  })

  it('a config is pinned from its settings: the configs list and the header show the version it runs', async () => {
    const { page } = ui.operator
    await openConfig(page, ui.operator, configId, 'settings')
    await waitForText(page.getByTestId('config-runs-version'), (t) => /Runs version 1\b.*follows/.test(t), 'the version it runs')
    assert.equal(await page.getByTestId('field-farewell').count(), 0, 'version 1 has no farewell field')
    await page.getByTestId('config-pin-select').selectOption('2')
    await page.getByTestId('config-pin-save').click()
    await page.getByTestId('config-pin-saved').waitFor()
    await waitForText(page.getByTestId('config-runs-version'), (t) => /Runs version 2\b.*pinned/.test(t), 'the pin')
    await waitForText(page.getByTestId('config-plugin-version'), (t) => t.includes('v2 (pinned)'), 'the header')
    await page.getByTestId('field-farewell').waitFor()
    await screenshot(page, 'config-pinned')
    assert.deepEqual(await runs(), [2, 2])

    await ui.operator.goto('#/configs')
    await waitForText(page.getByTestId(`config-version-${configId}`), (t) => t.includes('v2 (pinned)'), 'the configs list')

    await openConfig(page, ui.operator, configId, 'settings')
    await page.getByTestId('config-pin-select').selectOption('follow')
    await page.getByTestId('config-pin-save').click()
    await waitForText(page.getByTestId('config-runs-version'), (t) => /Runs version 1\b.*follows/.test(t), 'unpinned')
    assert.deepEqual(await runs(), [1, null])
  })

  it('a team token sees the versions but cannot change the current one', async () => {
    const { token } = await createTeamAdminToken(management, ui.fleet.team.id, 'versions')
    const res = await fetch(`${ui.fleet.captureUrl}/api/plugins/ui-versioned/current-version`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ version: 2 }),
    })
    assert.equal(res.status, 403)
    const del = await fetch(`${ui.fleet.captureUrl}/api/plugins/ui-versioned?force=true`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })
    assert.equal(del.status, 403)
    assert.equal((await api<PluginDetail>(ui.fleet, 'GET', '/api/plugins/ui-versioned', undefined, token)).version, 1)
  })

  it('the API refuses deleting a plugin in use, naming the config, and deletes it with force', async () => {
    const refused = await fetch(`${ui.fleet.captureUrl}/api/plugins/ui-versioned`, { method: 'DELETE', headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } })
    assert.equal(refused.status, 409)
    const body = (await refused.json()) as { error: { message: string } } | { message: string }
    assert.match(JSON.stringify(body), new RegExp(`config ${configId} \\(team ${ui.fleet.team.id}, disabled\\)`))
    const deleted = await api<{ deleted: boolean; deleted_configs: { id: number }[] }>(ui.fleet, 'DELETE', '/api/plugins/ui-versioned?force=true')
    assert.deepEqual(
      deleted.deleted_configs.map((c) => c.id),
      [configId],
    )
    const gone = await fetch(`${ui.fleet.captureUrl}/api/plugins/ui-versioned`, { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } })
    assert.equal(gone.status, 404)
  })

  it("the new config form can pin a version, and shows that version's fields", async () => {
    const { page } = ui.operator
    await installPluginFromPath(management, versionDir(1))
    await installPluginFromPath(management, versionDir(2))
    await openPlugin(page, ui.operator, 'ui-versioned')
    await page.getByTestId('plugin-configure').click()
    await page.getByTestId('field-farewell').waitFor()
    await page.getByTestId('new-config-pin-select').selectOption('1')
    await page.getByTestId('field-farewell').waitFor({ state: 'detached' })
    await page.getByTestId('field-greeting').fill('hello')
    await page.getByTestId('config-save').click()
    await waitForText(page.getByTestId('config-runs-version'), (t) => /Runs version 1\b.*pinned/.test(t), 'the new config pinned to version 1')
    const [created] = await api<(VersionedConfig & { plugin_name: string })[]>(ui.fleet, 'GET', `/api/teams/${ui.fleet.team.id}/configs`)
    assert.deepEqual([created.plugin_name, created.plugin_version, created.pinned_version], ['ui-versioned', 1, 1])
    const jobs = await api<{ public_jobs: Record<string, unknown> }>(ui.fleet, 'GET', `/api/configs/${created.id}/jobs`)
    assert.deepEqual(Object.keys(jobs.public_jobs), ['job1'], 'the public jobs of version 1, not of the current version 2')
  })
})
