import assert from 'node:assert/strict'
import {
  createConfig,
  deleteConfig,
  getConfig,
  readLogs,
  installPluginFromPath,
  listConfigs,
  ManagementError,
  PluginConfigView,
  setAttachment,
  setConfigEnabled,
  updateConfig,
} from '@plugin-server/management'
import { BASIC, createTeamRow, ManagementHarness, SECRET, startManagement, storedConfigValue, WITH_ATTACHMENT } from './management-fixture'
import { readMetrics, updateMetric } from '@plugin-server/plugin-runtime'
import { writePlugin } from '../harness/plugins'

function assertNoSecret(value: unknown, where: string): void {
  assert.ok(!JSON.stringify(value).includes(SECRET), `${where} must not contain the secret value`)
}

describe('plugin configs (createConfig, updateConfig, setConfigEnabled, setAttachment, deleteConfig, listConfigs)', () => {
  let h: ManagementHarness
  let teamId: number
  let pluginId: number

  beforeEach(async () => {
    h = await startManagement()
    teamId = await createTeamRow(h)
    pluginId = (await installPluginFromPath(h.ctx, BASIC)).plugin.id
  })

  afterEach(async () => {
    assert.ok(!h.logText().includes(SECRET), 'the secret value never reaches a log line')
    await h.close()
  })

  async function create(extra: Partial<Parameters<typeof createConfig>[1]> = {}): Promise<PluginConfigView> {
    return createConfig(h.ctx, { teamId, plugin: 'management-basic', config: { apiKey: SECRET, label: 'L' }, ...extra })
  }

  it('creates a config with defaults, stores the secret but never shows it', async () => {
    const view = await create({
      attachments: [{ key: 'mapping', file_name: 'map.json', content_type: 'application/json', contents: Buffer.from('{"a":1}') }],
    })
    assert.equal(view.team_id, teamId)
    assert.equal(view.plugin_id, pluginId)
    assert.equal(view.plugin_name, 'management-basic')
    assert.equal(view.enabled, false)
    assert.equal(view.order, 1)
    assert.deepEqual(view.config, { greeting: 'hello', mode: 'safe', label: 'L' })
    assert.deepEqual(view.secret_fields, { apiKey: 'set', region: 'not set' })
    assert.deepEqual(view.attachments, [{ key: 'mapping', file_name: 'map.json', content_type: 'application/json', size: 7 }])
    assertNoSecret(view, 'the view')
    const { rows } = await h.db.pool.query('SELECT config FROM plugin_configs WHERE id = $1', [view.id])
    assert.match(rows[0].config.apiKey, /^enc:v1:/, 'stored encrypted')
    assert.equal(await storedConfigValue(h, view.id, 'apiKey'), SECRET, 'stored for the plugin')
    assert.equal(rows[0].config.mapping, undefined, 'attachments are not config values')
    const { rows: att } = await h.db.pool.query('SELECT key, file_name, content_type, contents FROM plugin_attachments WHERE plugin_config_id = $1', [view.id])
    assert.deepEqual(att, [{ key: 'mapping', file_name: 'map.json', content_type: 'application/json', contents: Buffer.from('{"a":1}') }])
    const message = await h.reloads.next((m) => m.reason === 'config created')
    assert.deepEqual(message, { reason: 'config created', teamId, pluginConfigId: view.id, pluginId })
  })

  it('allows one config per plugin per team', async () => {
    const first = await create()
    await assert.rejects(create(), {
      status: 409,
      message: `team ${teamId} already has a config for plugin "management-basic" (config ${first.id}); update that one`,
    })
    const otherTeam = await createTeamRow(h, 'other')
    assert.equal((await createConfig(h.ctx, { teamId: otherTeam, plugin: pluginId, config: { apiKey: SECRET, label: 'L' } })).team_id, otherTeam)
  })

  it('names what was not found', async () => {
    await assert.rejects(createConfig(h.ctx, { teamId: 999, plugin: pluginId }), { status: 404, message: 'team 999 not found' })
    await assert.rejects(createConfig(h.ctx, { teamId, plugin: 'missing-plugin' }), { status: 404, message: 'plugin "missing-plugin" not found' })
    await assert.rejects(getConfig(h.ctx, 999), { status: 404, message: 'plugin config 999 not found' })
    await assert.rejects(updateConfig(h.ctx, 999, {}), { status: 404, message: 'plugin config 999 not found' })
    await assert.rejects(setConfigEnabled(h.ctx, 999, true), { status: 404, message: 'plugin config 999 not found' })
    await assert.rejects(deleteConfig(h.ctx, 999), { status: 404, message: 'plugin config 999 not found' })
    await assert.rejects(listConfigs(h.ctx, 999), { status: 404, message: 'team 999 not found' })
  })

  it('keeps the secret out of validation errors, whichever field fails', async () => {
    const attempts: [Record<string, string>, string][] = [
      [{ apiKey: SECRET, note: 'n' }, 'plugin "management-basic": config field "label" is required'],
      [{ apiKey: SECRET, label: 'L', mode: 'slow' }, 'plugin "management-basic": config field "mode" must be one of "fast", "safe" (got "slow")'],
      [{ apiKey: SECRET, label: 'L', region: SECRET }, 'plugin "management-basic": config field "region" must be one of "eu", "us"'],
    ]
    for (const [config, message] of attempts) {
      const err = await create({ config }).then(
        () => assert.fail('expected a validation error'),
        (e: unknown) => e,
      )
      assert.ok(err instanceof ManagementError)
      assert.equal(err.message, message)
      assertNoSecret({ message: err.message, stack: err.stack, field: err.field }, 'the error')
    }
  })

  it('merges updates: keys not given keep their value, secrets included; null clears (the default comes back), key= empties a text field', async () => {
    const view = await create({ config: { apiKey: SECRET, label: 'L', note: 'n', greeting: 'hi' } })
    const updated = await updateConfig(h.ctx, view.id, { config: { note: '', greeting: null, mode: 'fast' }, order: 7 })
    assert.deepEqual(updated.config, { greeting: 'hello', mode: 'fast', label: 'L', note: '' })
    assert.equal(updated.secret_fields.apiKey, 'set')
    assert.equal(updated.order, 7)
    assert.equal(await storedConfigValue(h, view.id, 'apiKey'), SECRET)
    await assert.rejects(updateConfig(h.ctx, view.id, { config: { apiKey: '' } }), {
      status: 400,
      message: 'plugin "management-basic": config field "apiKey" is required',
    })
    await h.reloads.next((m) => m.reason === 'config updated' && m.pluginConfigId === view.id)
  })

  it("enables after re-checking, clears the lifecycle's disabled reason, disables", async () => {
    const view = await create()
    await h.db.pool.query(`UPDATE plugin_configs SET disabled_reason = 'setupPlugin failed 10 times' WHERE id = $1`, [view.id])
    const enabled = await setConfigEnabled(h.ctx, view.id, true)
    assert.equal(enabled.enabled, true)
    assert.equal(enabled.disabled_reason, null)
    await h.reloads.next((m) => m.reason === 'config enabled' && m.pluginConfigId === view.id)
    const disabled = await setConfigEnabled(h.ctx, view.id, false)
    assert.equal(disabled.enabled, false)
    await h.reloads.next((m) => m.reason === 'config disabled' && m.pluginConfigId === view.id)
    // A config made invalid (e.g. by a newer plugin version) cannot be enabled.
    await h.db.pool.query(`UPDATE plugin_configs SET config = config - 'label' WHERE id = $1`, [view.id])
    await assert.rejects(setConfigEnabled(h.ctx, view.id, true), { status: 400, message: 'plugin "management-basic": config field "label" is required' })
  })

  it("says a secret attachment field is set once its file is uploaded, and scrubs the file's key from the logs it reads", async () => {
    const dir = writePlugin('secret-file', 'export function processEvent(e) { return e }', [{ key: 'keyFile', type: 'attachment', secret: true }])
    await installPluginFromPath(h.ctx, dir)
    const view = await createConfig(h.ctx, { teamId, plugin: 'secret-file', config: {} })
    assert.deepEqual(view.secret_fields, { keyFile: 'not set' })
    const key = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'
    const updated = await setAttachment(h.ctx, view.id, {
      key: 'keyFile',
      file_name: 'k.json',
      content_type: 'application/json',
      contents: Buffer.from(JSON.stringify({ private_key: key })),
    })
    assert.deepEqual(updated.secret_fields, { keyFile: 'set' })
    assert.deepEqual((await getConfig(h.ctx, view.id)).secret_fields, { keyFile: 'set' })
    // A line written before the workers scrubbed key files is scrubbed when read.
    await h.db.pool.query(
      `INSERT INTO plugin_log_entries (team_id, plugin_id, plugin_config_id, timestamp, source, type, message, instance_id)
       VALUES ($1, $2, $3, now(), 'CONSOLE', 'LOG', $4, 'old-worker')`,
      [teamId, view.plugin_id, view.id, `key file {"private_key":"${key}"}`],
    )
    assert.deepEqual(
      (await readLogs(h.ctx, view.id)).map((r) => r.message),
      ['key file {"private_key":"[secret]"}'],
    )
  })

  it('sets attachments only on attachment fields', async () => {
    const view = await create()
    const updated = await setAttachment(h.ctx, view.id, { key: 'mapping', file_name: 'm.csv', content_type: 'text/csv', contents: Buffer.from('a,b') })
    assert.deepEqual(updated.attachments, [{ key: 'mapping', file_name: 'm.csv', content_type: 'text/csv', size: 3 }])
    await h.reloads.next((m) => m.reason === 'attachment set' && m.pluginConfigId === view.id)
    await assert.rejects(setAttachment(h.ctx, view.id, { key: 'label', file_name: 'x', content_type: 'text/plain', contents: Buffer.from('x') }), {
      status: 400,
      message: 'plugin "management-basic": config field "label" is not an attachment field',
    })
  })

  it('requires a required attachment at creation', async () => {
    await installPluginFromPath(h.ctx, WITH_ATTACHMENT)
    await assert.rejects(createConfig(h.ctx, { teamId, plugin: 'management-attachment', config: { token: SECRET } }), {
      status: 400,
      message: 'plugin "management-attachment": config field "rules" is required: upload an attachment for it',
    })
    const view = await createConfig(h.ctx, {
      teamId,
      plugin: 'management-attachment',
      attachments: [{ key: 'rules', file_name: 'rules.json', content_type: 'application/json', contents: Buffer.from('{}') }],
    })
    assert.deepEqual(view.secret_fields, { token: 'not set' })
  })

  it("lists a team's configs in chain order and deletes", async () => {
    await installPluginFromPath(h.ctx, WITH_ATTACHMENT)
    const a = await create({ order: 5 })
    const rules = [{ key: 'rules', file_name: 'r.json', content_type: 'application/json', contents: Buffer.from('{}') }]
    const b = await createConfig(h.ctx, { teamId, plugin: 'management-attachment', attachments: rules, order: 2 })
    assert.deepEqual(
      (await listConfigs(h.ctx, teamId)).map((c) => c.id),
      [b.id, a.id],
    )
    assertNoSecret(await listConfigs(h.ctx, teamId), 'the list')
    assert.deepEqual(await deleteConfig(h.ctx, a.id), { id: a.id, deleted: true })
    await h.reloads.next((m) => m.reason === 'config deleted' && m.pluginConfigId === a.id && m.teamId === teamId)
    assert.deepEqual(
      (await listConfigs(h.ctx, teamId)).map((c) => c.id),
      [b.id],
    )
  })

  it('deletes the plugin metrics of a deleted config, its hash and its entry in the index', async () => {
    const view = await create()
    const kept = await createConfig(h.ctx, { teamId: await createTeamRow(h, 'other'), plugin: 'management-basic', config: { apiKey: SECRET, label: 'L' } })
    for (const id of [view.id, kept.id]) await updateMetric(h.ctx.redis, h.ctx.queuePrefix, id, 'seen', 'sum', 1)
    await deleteConfig(h.ctx, view.id)
    assert.deepEqual(await readMetrics(h.ctx.redis, h.ctx.queuePrefix, view.id), {})
    assert.deepEqual(await h.ctx.redis.smembers(`${h.ctx.queuePrefix}:plugin-metrics-configs`), [String(kept.id)])
    assert.deepEqual(await readMetrics(h.ctx.redis, h.ctx.queuePrefix, kept.id), { seen: 1 })
  })

  it('scrubs the secret from errors the plugin itself wrote', async () => {
    const view = await create()
    await h.db.pool.query(`UPDATE plugin_configs SET error = $2, disabled_reason = $3 WHERE id = $1`, [
      view.id,
      { message: `401 for key ${SECRET}` },
      `setup failed: bad key ${SECRET}`,
    ])
    const shown = await getConfig(h.ctx, view.id)
    assert.deepEqual(shown.error, { message: '401 for key [secret]' })
    assert.equal(shown.disabled_reason, 'setup failed: bad key [secret]')
  })

  it('scrubs a secret shorter than 4 characters from errors the plugin wrote, leaving none of its characters', async () => {
    const view = await create({ config: { apiKey: 'q7Z', label: 'L' } })
    await h.db.pool.query(`UPDATE plugin_configs SET error = $2, disabled_reason = $3 WHERE id = $1`, [
      view.id,
      { message: '401 for key q7Z' },
      'setup failed: bad key q7Z',
    ])
    const shown = await getConfig(h.ctx, view.id)
    assert.deepEqual(shown.error, { message: '401 for key [secret]' })
    assert.equal(shown.disabled_reason, 'setup failed: bad key [secret]')
  })

  it('scrubs a secret with quotes and backslashes in it from error objects, leaving their shape alone', async () => {
    const awkward = 'sk"live\\7f3a, "x": true,'
    const view = await create({ config: { apiKey: awkward, label: 'L' } })
    await h.db.pool.query(`UPDATE plugin_configs SET error = $2 WHERE id = $1`, [view.id, { message: `401 for key ${awkward}`, [awkward]: [awkward, 1] }])
    const shown = await getConfig(h.ctx, view.id)
    assert.deepEqual(shown.error, { message: '401 for key [secret]', '[secret]': ['[secret]', 1] })
  })

  it('publishes a reload within 2 s of every write', async () => {
    const view = await create()
    const writes: [string, () => Promise<unknown>][] = [
      ['config updated', () => updateConfig(h.ctx, view.id, { config: { note: 'x' } })],
      ['config enabled', () => setConfigEnabled(h.ctx, view.id, true)],
      ['config disabled', () => setConfigEnabled(h.ctx, view.id, false)],
      ['attachment set', () => setAttachment(h.ctx, view.id, { key: 'mapping', file_name: 'a', content_type: 'text/plain', contents: Buffer.from('a') })],
      ['config deleted', () => deleteConfig(h.ctx, view.id)],
    ]
    for (const [reason, write] of writes) {
      const started = Date.now()
      await write()
      const message = await h.reloads.next((m) => m.reason === reason, 2000)
      assert.deepEqual(message, { reason, teamId, pluginConfigId: view.id, pluginId })
      assert.ok(Date.now() - started < 2000)
    }
  })
})
