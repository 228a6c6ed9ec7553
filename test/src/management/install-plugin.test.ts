import assert from 'node:assert/strict'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { publishReload } from '@plugin-server/core'
import { filesFromJson, getPlugin, installPluginArchive, installPluginFromPath, listPlugins, ManagementError } from '@plugin-server/management'
import { readPluginFiles } from '@plugin-server/plugin-vm'
import { makeZip } from '../harness/archives'
import { BASIC, BROKEN, copyFixture, ManagementHarness, startManagement } from './management-fixture'

describe('installPlugin', () => {
  let h: ManagementHarness

  beforeEach(async () => {
    h = await startManagement()
  })

  afterEach(async () => {
    await h.close()
  })

  it('stores plugin.json, the raw files and a content hash, and tells the workers', async () => {
    const result = await installPluginFromPath(h.ctx, BASIC)
    assert.equal(result.status, 'installed')
    assert.equal(result.message, 'plugin "management-basic" installed (version 1)')
    assert.equal(result.plugin.version, 1)
    assert.match(result.plugin.content_hash, /^[0-9a-f]{64}$/)
    const { rows } = await h.db.pool.query('SELECT name, description, url, plugin_json, source FROM plugins WHERE id = $1', [result.plugin.id])
    assert.equal(rows[0].name, 'management-basic')
    assert.equal(rows[0].url, 'https://example.invalid/management-basic')
    const files = filesFromJson(rows[0].source)
    assert.deepEqual([...files.keys()].sort(), ['index.ts', 'plugin.json'])
    assert.equal(files.get('index.ts')?.toString(), await fs.readFile(path.join(BASIC, 'index.ts'), 'utf8'), 'the source, not the compiled code')
    const detail = await getPlugin(h.ctx, 'management-basic')
    assert.deepEqual(
      detail.versions.map((v) => v.version),
      [1],
    )
    assert.equal(detail.plugin_json.name, 'management-basic')
    await h.reloads.next((m) => m.reason === 'plugin installed' && m.pluginId === result.plugin.id)
  })

  it('does nothing for identical source and says so', async () => {
    const first = await installPluginFromPath(h.ctx, BASIC)
    // A copy elsewhere: the hash is of the contents, not the location.
    const again = await installPluginFromPath(h.ctx, await copyFixture(BASIC))
    assert.equal(again.status, 'unchanged')
    assert.equal(again.message, 'plugin "management-basic" version 1 has identical source; nothing to do')
    assert.equal(again.plugin.id, first.plugin.id)
    assert.equal(again.plugin.version, 1)
    const { rows } = await h.db.pool.query('SELECT count(*)::int AS n FROM plugin_versions')
    assert.equal(rows[0].n, 1)
    // Published after the install returned, so it arrives after anything the install published.
    await publishReload(h.ctx.redis, h.ctx.queuePrefix, { reason: 'test marker' })
    await h.reloads.next((m) => m.reason === 'test marker')
    const others = h.reloads.messages.filter((m) => m.reason !== 'plugin installed' && m.reason !== 'test marker')
    assert.equal(others.length, 0, 'no reload for a no-op')
  })

  it('makes changed source a new version of the same plugin, keeping the history', async () => {
    const first = await installPluginFromPath(h.ctx, BASIC)
    const dir = await copyFixture(BASIC)
    await fs.appendFile(path.join(dir, 'index.ts'), '\nexport const changed = true\n')
    const second = await installPluginFromPath(h.ctx, dir)
    assert.equal(second.status, 'updated')
    assert.equal(second.message, 'plugin "management-basic" updated to version 2')
    assert.equal(second.plugin.id, first.plugin.id)
    assert.equal(second.plugin.version, 2)
    assert.notEqual(second.plugin.content_hash, first.plugin.content_hash)
    const detail = await getPlugin(h.ctx, first.plugin.id)
    assert.deepEqual(
      detail.versions.map((v) => [v.version, v.content_hash]),
      [
        [2, second.plugin.content_hash],
        [1, first.plugin.content_hash],
      ],
    )
    assert.equal((await listPlugins(h.ctx, '', 1000)).length, 1)
    await h.reloads.next((m) => m.reason === 'plugin updated' && m.pluginId === first.plugin.id)
  })

  it('refuses a plugin that does not compile, with the loader message, and stores nothing', async () => {
    await assert.rejects(installPluginFromPath(h.ctx, BROKEN), (err: unknown) => {
      assert.ok(err instanceof ManagementError)
      assert.equal(err.status, 400)
      assert.equal(err.code, 'invalid_plugin')
      assert.match(err.message, /management-broken/)
      return true
    })
    assert.equal((await listPlugins(h.ctx, '', 1000)).length, 0)
  })

  it("refuses a plugin importing a class a bridged module does not offer, as PostHog's Kinesis plugin does, and stores nothing", async () => {
    const dir = await copyFixture(BASIC)
    const main = path.join(dir, 'index.ts')
    await fs.writeFile(
      main,
      `import { Kinesis } from 'aws-sdk'\n` + (await fs.readFile(main, 'utf8')) + `\nexport async function setupPlugin() { new Kinesis() }\n`,
    )
    await assert.rejects(installPluginFromPath(h.ctx, dir), (err: unknown) => {
      assert.ok(err instanceof ManagementError)
      assert.equal(err.status, 400)
      assert.match(err.message, /index\.ts:1: aws-sdk: "Kinesis" is not available to plugins \(aws-sdk offers: S3, config\)/)
      return true
    })
    assert.equal((await listPlugins(h.ctx, '', 1000)).length, 0)
  })

  it('refuses an invalid plugin.json naming the field', async () => {
    const dir = await copyFixture(BASIC)
    const json = JSON.parse(await fs.readFile(path.join(dir, 'plugin.json'), 'utf8'))
    json.config[2].choices = undefined
    await fs.writeFile(path.join(dir, 'plugin.json'), JSON.stringify(json))
    await assert.rejects(installPluginFromPath(h.ctx, dir), { status: 400, message: 'plugin.json: config[2].choices is required when type is "choice"' })
  })

  it('refuses a plugin.json name of digits only, which lookups would take for an id, or with control characters', async () => {
    for (const [name, problem] of [
      ['2', 'is all digits, which lookups take for a plugin id: use a name with a letter in it'],
      ['evil\u001b[2J', 'contains control characters'],
    ]) {
      const dir = await copyFixture(BASIC)
      const json = JSON.parse(await fs.readFile(path.join(dir, 'plugin.json'), 'utf8'))
      await fs.writeFile(path.join(dir, 'plugin.json'), JSON.stringify({ ...json, name }))
      await assert.rejects(installPluginFromPath(h.ctx, dir), {
        status: 400,
        code: 'invalid_plugin',
        field: 'name',
        message: `plugin.json "name" ${JSON.stringify(name)} ${problem}`,
      })
    }
    assert.equal((await listPlugins(h.ctx, '', 1000)).length, 0)
  })

  it('refuses with 400, naming where, text in plugin.json or a file path that Postgres cannot store (a NUL, a lone surrogate), instead of a raw database error', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ description: 'a\u0000b' }, 'plugin.json.description contains a NUL character (U+0000), which Postgres cannot store'],
      [{ url: '\udc00' }, 'plugin.json.url contains a lone surrogate (U+DC00), which is not valid Unicode and Postgres cannot store'],
      [{ extra: { deep: ['ok', 'x\u0000'] } }, 'plugin.json.extra.deep[1] contains a NUL character (U+0000), which Postgres cannot store'],
      [{ extra: { 'k\u0000': 1 } }, 'plugin.json.extra has a key that contains a NUL character (U+0000), which Postgres cannot store'],
    ]
    for (const [change, message] of cases) {
      const dir = await copyFixture(BASIC)
      const json = JSON.parse(await fs.readFile(path.join(dir, 'plugin.json'), 'utf8'))
      await fs.writeFile(path.join(dir, 'plugin.json'), JSON.stringify({ ...json, ...change }))
      await assert.rejects(installPluginFromPath(h.ctx, dir), { status: 400, code: 'invalid_plugin', message })
    }
    const files = await readPluginFiles(await copyFixture(BASIC))
    files.set('notes-\u0000.txt', Buffer.from('x'))
    await assert.rejects(installPluginArchive(h.ctx, makeZip(files), 'zip'), {
      status: 400,
      code: 'invalid_plugin',
      message: `the plugin's file path "notes-\\u0000.txt" contains a NUL character (U+0000), which Postgres cannot store`,
    })
    assert.equal((await listPlugins(h.ctx, '', 1000)).length, 0)
  })

  it('refuses a config default no config value could be (over 64 KiB, or looking like a sealed secret), naming the field, as every config made after would store it', async () => {
    for (const [value, problem] of [
      ['x'.repeat(70 * 1024), /^plugin\.json: the default of config field "label" is 71680 bytes, over the limit of 65536 bytes per value/],
      ['enc:v1:k:AAAA', /^plugin\.json: the default of config field "label" must not begin with "enc:v1:", the prefix of secrets sealed at rest$/],
    ] as const) {
      const dir = await copyFixture(BASIC)
      const json = JSON.parse(await fs.readFile(path.join(dir, 'plugin.json'), 'utf8')) as { config: { key?: string; default?: string }[] }
      const field = json.config.find((f) => f.key === 'label')
      assert.ok(field, 'the fixture has a label field')
      field.default = value
      await fs.writeFile(path.join(dir, 'plugin.json'), JSON.stringify(json))
      await assert.rejects(installPluginFromPath(h.ctx, dir), (err: unknown) => {
        assert.ok(err instanceof ManagementError)
        assert.equal(err.status, 400)
        assert.match(err.message, problem)
        return true
      })
    }
    assert.equal((await listPlugins(h.ctx, '', 1000)).length, 0)
  })

  it('refuses a plugin.json over 1 MB, naming the limit', async () => {
    const dir = await copyFixture(BASIC)
    const json = JSON.parse(await fs.readFile(path.join(dir, 'plugin.json'), 'utf8'))
    await fs.writeFile(path.join(dir, 'plugin.json'), JSON.stringify({ ...json, description: 'x'.repeat(1024 * 1024) }))
    await assert.rejects(installPluginFromPath(h.ctx, dir), { status: 400, message: 'plugin.json: is larger than 1048576 bytes' })
  })

  it('refuses a path that does not exist', async () => {
    await assert.rejects(installPluginFromPath(h.ctx, '/nonexistent/plugin'), { status: 400, message: 'plugin path /nonexistent/plugin does not exist' })
  })

  it('says which plugin was not found', async () => {
    await assert.rejects(getPlugin(h.ctx, 'nope'), { status: 404, message: 'plugin "nope" not found' })
    await assert.rejects(getPlugin(h.ctx, 99), { status: 404, message: 'plugin 99 not found' })
  })
})
