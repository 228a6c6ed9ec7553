import assert from 'node:assert/strict'
import { createConfig, installPluginFromPath, setAttachment, updateConfig } from '@plugin-server/management'
import { createTeamRow, ManagementHarness, startManagement, WITH_ATTACHMENT } from './management-fixture'

describe('attachments over PLUGIN_ATTACHMENT_MAX_BYTES are refused wherever they are written', () => {
  let h: ManagementHarness
  let teamId: number

  beforeEach(async () => {
    h = await startManagement()
    teamId = await createTeamRow(h)
    await installPluginFromPath(h.ctx, WITH_ATTACHMENT)
  })
  afterEach(async () => h.close())

  const rules = (bytes: number) => ({ key: 'rules', file_name: 'rules.json', content_type: 'application/json', contents: Buffer.alloc(bytes, 32) })
  const refusal = (bytes: number, max: number) => ({
    status: 400,
    field: 'attachments.rules',
    message: `attachments.rules is ${bytes} bytes, over the limit of ${max} bytes (PLUGIN_ATTACHMENT_MAX_BYTES)`,
  })

  it('at creation, on update and when set alone, naming the field and the limit; nothing is written', async () => {
    const ctx = { ...h.ctx, attachmentMaxBytes: 1000 }
    await assert.rejects(createConfig(ctx, { teamId, plugin: 'management-attachment', attachments: [rules(1001)] }), refusal(1001, 1000))
    assert.equal((await h.db.pool.query('SELECT count(*)::int AS n FROM plugin_configs')).rows[0].n, 0)

    const view = await createConfig(ctx, { teamId, plugin: 'management-attachment', attachments: [rules(1000)] })
    assert.deepEqual(
      view.attachments.map((a) => a.size),
      [1000],
    )
    await assert.rejects(updateConfig(ctx, view.id, { attachments: [rules(5000)] }), refusal(5000, 1000))
    await assert.rejects(setAttachment(ctx, view.id, rules(1001)), refusal(1001, 1000))
    const { rows } = await h.db.pool.query('SELECT length(contents) AS size FROM plugin_attachments WHERE plugin_config_id = $1', [view.id])
    assert.deepEqual(rows, [{ size: 1000 }])
  })

  it('defaults to 10 MiB', async () => {
    const max = 10 * 1024 * 1024
    await assert.rejects(createConfig(h.ctx, { teamId, plugin: 'management-attachment', attachments: [rules(max + 1)] }), refusal(max + 1, max))
  })
})

describe('attachment file names and content types Postgres cannot store are refused naming the field', () => {
  let h: ManagementHarness
  let teamId: number

  beforeEach(async () => {
    h = await startManagement()
    teamId = await createTeamRow(h)
    await installPluginFromPath(h.ctx, WITH_ATTACHMENT)
  })
  afterEach(async () => h.close())

  const rules = (fileName: string, contentType = 'application/json') => ({
    key: 'rules',
    file_name: fileName,
    content_type: contentType,
    contents: Buffer.from('{}'),
  })

  it('a NUL or a lone surrogate is a validation error at creation, on update and when set alone, not a database error', async () => {
    await assert.rejects(createConfig(h.ctx, { teamId, plugin: 'management-attachment', attachments: [rules('a\u0000.json')] }), {
      status: 400,
      field: 'attachments.rules.file_name',
      message: 'attachments.rules.file_name contains a NUL character (U+0000), which Postgres cannot store',
    })
    const view = await createConfig(h.ctx, { teamId, plugin: 'management-attachment', attachments: [rules('rules.json')] })
    await assert.rejects(updateConfig(h.ctx, view.id, { attachments: [rules('\udc00.json')] }), {
      status: 400,
      field: 'attachments.rules.file_name',
      message: 'attachments.rules.file_name contains a lone surrogate (U+DC00), which is not valid Unicode and Postgres cannot store',
    })
    await assert.rejects(setAttachment(h.ctx, view.id, rules('rules.json', 'text/\u0000')), { status: 400, field: 'attachments.rules.content_type' })
    const { rows } = await h.db.pool.query('SELECT file_name FROM plugin_attachments WHERE plugin_config_id = $1', [view.id])
    assert.deepEqual(rows, [{ file_name: 'rules.json' }])
  })
})
