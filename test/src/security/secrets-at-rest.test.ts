import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { ConfigError, loadConfig, parseSecretKeys } from '@plugin-server/core'
import {
  createConfig,
  getConfig,
  installPluginFromPath,
  listConfigs,
  ManagementError,
  readLogs,
  rotateSecrets,
  setConfigEnabled,
  updateConfig,
} from '@plugin-server/management'
import { loadEnabledConfigs, logTarget } from '@plugin-server/plugin-runtime'
import { SecretBox } from '@plugin-server/secrets'
import { writePlugin } from '../harness/plugins'
import { runCli } from '../harness/processes'
import { TEST_SECRETS_KEYS } from '../harness/security-env'
import { BASIC, createTeamRow, insertLog, ManagementHarness, SECRET, startManagement } from '../management/management-fixture'

const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`

describe('security: secret config values encrypted at rest', function () {
  describe('SecretBox', () => {
    const [a, b] = [parseSecretKeys(key('a'))[0], parseSecretKeys(key('b'))[0]]

    it('seals with AES-256-GCM under the first key, a fresh IV each time, and opens with any key it holds', () => {
      const box = new SecretBox([a])
      const sealed = box.seal('hunter2', 'scope')
      assert.match(sealed, /^enc:v1:a:[A-Za-z0-9+/=]+$/)
      assert.notEqual(box.seal('hunter2', 'scope'), sealed)
      assert.ok(!sealed.includes('hunter2'))
      assert.equal(box.open(sealed, 'scope'), 'hunter2')
      assert.equal(new SecretBox([b, a]).open(sealed, 'scope'), 'hunter2')
      assert.equal(box.open('legacy plaintext', 'scope'), 'legacy plaintext')
    })

    it('refuses a value moved to another scope, altered, or sealed with a key it does not hold', () => {
      const box = new SecretBox([a])
      const sealed = box.seal('hunter2', 'plugin_config:1:7:apiKey')
      assert.throws(() => box.open(sealed, 'plugin_config:2:7:apiKey'), /does not decrypt/)
      const tampered = sealed.slice(0, -4) + (sealed.endsWith('AAAA') ? 'BBBB' : 'AAAA')
      assert.throws(() => box.open(tampered, 'plugin_config:1:7:apiKey'), /does not decrypt/)
      assert.throws(() => new SecretBox([b]).open(sealed, 'plugin_config:1:7:apiKey'), /key "a", which PLUGIN_SECRETS_KEYS does not hold/)
      assert.throws(() => new SecretBox([]).seal('x', 's'), /PLUGIN_SECRETS_KEYS is not set/)
    })

    it('validates PLUGIN_SECRETS_KEYS at start-up without echoing key material', () => {
      assert.equal(
        loadConfig({ PLUGIN_SECRETS_KEYS: `${key('new')},${key('old')}` })
          .plugins.secretsKeys.map((k) => k.id)
          .join(),
        'new,old',
      )
      assert.deepEqual(loadConfig({}).plugins.secretsKeys, [])
      const short = `k1:${randomBytes(16).toString('base64')}`
      assert.throws(
        () => loadConfig({ PLUGIN_SECRETS_KEYS: short }),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError)
          assert.match(err.message, /PLUGIN_SECRETS_KEYS: entry 1 is not "<id>:<base64 of 32 bytes>"/)
          assert.ok(!err.message.includes(short.slice(3)), 'the key is not in the message')
          return true
        },
      )
      assert.throws(() => parseSecretKeys(`${key('x')},${key('x')}`), /key id "x" appears twice/)
    })
  })

  describe('management and workers', () => {
    let h: ManagementHarness
    let teamId: number

    beforeEach(async () => {
      h = await startManagement()
      teamId = await createTeamRow(h)
      await installPluginFromPath(h.ctx, BASIC)
    })
    afterEach(() => h.close())

    const rawConfig = async (id: number) =>
      (await h.db.pool.query<{ config: Record<string, string> }>('SELECT config FROM plugin_configs WHERE id = $1', [id])).rows[0].config
    const box = (keys: string) => new SecretBox(parseSecretKeys(keys))
    /** The harness's context with a box of the given keys, as a process started with PLUGIN_SECRETS_KEYS=keys builds it. */
    const keyed = (keys: string) => ({ ...h.ctx, secrets: box(keys) })

    it('stores secret fields sealed on create and update, other fields in the clear, and workers read the plaintext', async () => {
      const view = await createConfig(h.ctx, { teamId, plugin: 'management-basic', config: { apiKey: SECRET, label: 'L' }, enabled: true })
      let stored = await rawConfig(view.id)
      assert.match(stored.apiKey, /^enc:v1:test:/)
      assert.equal(stored.label, 'L')
      assert.ok(!JSON.stringify(stored).includes(SECRET))
      assert.equal(view.secret_fields.apiKey, 'set')

      await updateConfig(h.ctx, view.id, { config: { label: 'M' } })
      stored = await rawConfig(view.id)
      assert.match(stored.apiKey, /^enc:v1:test:/, 'a kept secret stays sealed')
      await updateConfig(h.ctx, view.id, { config: { apiKey: 'sk_second_value' } })
      stored = await rawConfig(view.id)
      assert.ok(!JSON.stringify(stored).includes('sk_second_value'))

      const [record] = await loadEnabledConfigs(h.db.pool, { secrets: box(TEST_SECRETS_KEYS) })
      assert.equal(record.config.apiKey, 'sk_second_value')
      assert.equal(record.config.label, 'M')
      await setConfigEnabled(h.ctx, view.id, true)
    })

    it('fails closed when no key is configured: a secret is never written in the clear', async () => {
      await assert.rejects(createConfig(keyed(''), { teamId, plugin: 'management-basic', config: { apiKey: SECRET, label: 'L' } }), (err: unknown) => {
        assert.ok(err instanceof ManagementError)
        assert.equal(err.code, 'validation_error')
        assert.match(err.message, /config field "apiKey" is secret and cannot be stored: PLUGIN_SECRETS_KEYS is not set/)
        assert.ok(!err.message.includes(SECRET))
        return true
      })
      const { rows } = await h.db.pool.query('SELECT 1 FROM plugin_configs')
      assert.equal(rows.length, 0)
    })

    it('rotates: add a key in front, re-encrypt everything (legacy plaintext too), drop the old key', async () => {
      const oldKeys = key('old')
      const newKey = key('new')
      const first = await createConfig(keyed(oldKeys), { teamId, plugin: 'management-basic', config: { apiKey: SECRET, label: 'L' }, enabled: true })
      const otherTeam = await createTeamRow(h)
      const second = await createConfig(keyed(oldKeys), {
        teamId: otherTeam,
        plugin: 'management-basic',
        config: { apiKey: 'sk_legacy_plain', label: 'L' },
        enabled: true,
      })
      // A value from before encryption existed.
      await h.db.pool.query(`UPDATE plugin_configs SET config = jsonb_set(config, '{apiKey}', '"sk_legacy_plain"') WHERE id = $1`, [second.id])
      const before = (await rawConfig(first.id)).apiKey
      assert.match(before, /^enc:v1:old:/)

      const progress: string[] = []
      const result = await rotateSecrets(keyed(`${newKey},${oldKeys}`), (done, total) => progress.push(`${done}/${total}`))
      assert.deepEqual(result, { keyId: 'new', configs: 2, reencrypted: 1, encrypted: 1, current: 0, skipped: [] })
      assert.deepEqual(progress, ['1/2', '2/2'])
      assert.match((await rawConfig(first.id)).apiKey, /^enc:v1:new:/)
      assert.match((await rawConfig(second.id)).apiKey, /^enc:v1:new:/)

      const again = await rotateSecrets(keyed(`${newKey},${oldKeys}`))
      assert.deepEqual({ ...again, keyId: 'new' }, { keyId: 'new', configs: 2, reencrypted: 0, encrypted: 0, current: 2, skipped: [] })

      // The old key can go now.
      const records = await loadEnabledConfigs(h.db.pool, { secrets: box(newKey) })
      assert.deepEqual(records.map((r) => r.config.apiKey).sort(), [SECRET, 'sk_legacy_plain'].sort())
      const view = await getConfig(keyed(newKey), first.id)
      assert.equal(view.secret_fields.apiKey, 'set')
    })

    it('re-encrypting does not look like a config change to workers (no reload of every plugin)', async () => {
      const oldKeys = key('old')
      const newKey = key('new')
      await createConfig(keyed(oldKeys), { teamId, plugin: 'management-basic', config: { apiKey: SECRET, label: 'L' }, enabled: true })
      const [before] = await loadEnabledConfigs(h.db.pool, { secrets: box(oldKeys) })
      await rotateSecrets(keyed(`${newKey},${oldKeys}`))
      const [after] = await loadEnabledConfigs(h.db.pool, { secrets: box(newKey) })
      assert.equal(after.signature, before.signature)
      assert.ok(!before.signature.includes(SECRET))
    })

    it('leaves out (and reports) only the config whose key was removed too early', async () => {
      const lost = key('lost')
      const kept = key('kept')
      const a = await createConfig(keyed(lost), { teamId, plugin: 'management-basic', config: { apiKey: SECRET, label: 'L' }, enabled: true })
      const otherTeam = await createTeamRow(h)
      const b = await createConfig(keyed(kept), { teamId: otherTeam, plugin: 'management-basic', config: { apiKey: 'sk_kept', label: 'L' }, enabled: true })
      const unreadable: [number, string][] = []
      const records = await loadEnabledConfigs(h.db.pool, { secrets: box(kept), onUnreadable: (id, message) => unreadable.push([id, message]) })
      assert.deepEqual(
        records.map((r) => r.id),
        [b.id],
      )
      assert.equal(unreadable.length, 1)
      assert.equal(unreadable[0][0], a.id)
      assert.match(unreadable[0][1], /secret config field "apiKey": secret encrypted with key "lost", which PLUGIN_SECRETS_KEYS does not hold/)
    })

    it('plugin-server secrets rotate shows progress and prints the summary', async () => {
      const oldKeys = key('old')
      const newKey = key('new')
      await createConfig(keyed(oldKeys), { teamId, plugin: 'management-basic', config: { apiKey: SECRET, label: 'L' } })
      const out = await runCli(['secrets', 'rotate'], { DATABASE_URL: h.db.url, PLUGIN_SECRETS_KEYS: `${newKey},${oldKeys}`, LOG_LEVEL: 'warn' })
      assert.equal(out.code, 0, out.stderr)
      assert.deepEqual(JSON.parse(out.stdout), { keyId: 'new', configs: 1, reencrypted: 1, encrypted: 0, current: 0, skipped: [] })
      assert.match(out.stderr, /secrets rotate: 1\/1 configs \(1 re-encrypted, 0 plaintext encrypted, 0 already on key new\)/)
      assert.match((await rawConfig((await h.db.pool.query<{ id: number }>('SELECT id FROM plugin_configs')).rows[0].id)).apiKey, /^enc:v1:new:/)
    })

    describe('a value stored sealed stays secret whatever the schema of the version in use says', () => {
      /** Version 1 does not mark `apiKey` secret, version 2 does (or, installed the other way round, a new version dropped the flag). */
      const versioned = (secret: boolean) =>
        writePlugin('versioned-secret', `export function processEvent(e) { return e }`, [
          { key: 'apiKey', type: 'string', ...(secret ? { secret: true } : {}) },
          { key: 'note', type: 'string' },
        ])

      it('pinning to a version that does not mark the field secret shows it as set, keeps it sealed, and still gives workers and log redaction the value', async () => {
        await installPluginFromPath(h.ctx, versioned(false))
        await installPluginFromPath(h.ctx, versioned(true))
        const created = await createConfig(h.ctx, { teamId, plugin: 'versioned-secret', config: { apiKey: SECRET }, enabled: true })
        const pinned = await updateConfig(h.ctx, created.id, { pinnedVersion: 1 })
        assert.deepEqual(pinned.config, {})
        assert.equal(pinned.secret_fields.apiKey, 'set')
        assert.match((await rawConfig(created.id)).apiKey, /^enc:v1:test:/)

        const updated = await updateConfig(h.ctx, created.id, { config: { note: 'n' } })
        assert.deepEqual(updated.config, { note: 'n' })
        assert.match((await rawConfig(created.id)).apiKey, /^enc:v1:test:/, 'kept sealed by an update that does not give it')
        await updateConfig(h.ctx, created.id, { config: { apiKey: 'sk_replaced_value' } })
        assert.match((await rawConfig(created.id)).apiKey, /^enc:v1:test:/, 'a replacement is sealed too')
        assert.ok(!JSON.stringify(await listConfigs(h.ctx, teamId)).includes('sk_replaced_value'))

        const [record] = await loadEnabledConfigs(h.db.pool, { secrets: box(TEST_SECRETS_KEYS) })
        assert.equal(record.pluginVersion, 1)
        assert.equal(record.config.apiKey, 'sk_replaced_value')
        assert.ok(logTarget(record).secrets.includes('sk_replaced_value'))
        await insertLog(h, created.id, 'WARN', 'CONSOLE', 'calling with sk_replaced_value')
        assert.deepEqual(
          (await readLogs(h.ctx, created.id)).map((r) => r.message),
          ['calling with [secret]'],
        )
      })

      it('a new current version that drops `secret` neither shows nor unseals the stored value', async () => {
        await installPluginFromPath(h.ctx, versioned(true))
        const created = await createConfig(h.ctx, { teamId, plugin: 'versioned-secret', config: { apiKey: SECRET } })
        await installPluginFromPath(h.ctx, versioned(false))
        const view = await updateConfig(h.ctx, created.id, { config: { note: 'n' } })
        assert.equal(view.plugin_version, 2)
        assert.equal(view.secret_fields.apiKey, 'set')
        assert.ok(!JSON.stringify(view).includes(SECRET))
        assert.match((await rawConfig(created.id)).apiKey, /^enc:v1:test:/)
      })
    })

    describe('a value that only looks sealed', () => {
      /** As a team could store one before such values were refused: a non-secret field holding a "sealed" value of a key nobody has. */
      const lookAlike = 'enc:v1:gone:AAAA'
      const plantLookAlike = (id: number) =>
        h.db.pool.query(`UPDATE plugin_configs SET config = jsonb_set(config, '{note}', to_jsonb($2::text)) WHERE id = $1`, [id, lookAlike])

      it('is refused as a config value, secret or not, naming the field', async () => {
        const view = await createConfig(h.ctx, { teamId, plugin: 'management-basic', config: { apiKey: SECRET, label: 'L' } })
        for (const key of ['note', 'apiKey']) {
          await assert.rejects(updateConfig(h.ctx, view.id, { config: { [key]: lookAlike } }), (err: unknown) => {
            assert.ok(err instanceof ManagementError)
            assert.equal(err.status, 400)
            assert.equal(err.field, key)
            assert.equal(err.message, `plugin "management-basic": config field "${key}" must not begin with "enc:v1:", the prefix of secrets sealed at rest`)
            return true
          })
        }
      })

      it('does not stop secrets rotate: that config is skipped and reported, the others are rotated, and the CLI exits 1', async () => {
        const oldKeys = key('old')
        const newKey = key('new')
        const stuck = await createConfig(keyed(oldKeys), { teamId, plugin: 'management-basic', config: { apiKey: SECRET, label: 'L' } })
        await plantLookAlike(stuck.id)
        const otherTeam = await createTeamRow(h)
        const fine = await createConfig(keyed(oldKeys), { teamId: otherTeam, plugin: 'management-basic', config: { apiKey: SECRET, label: 'L' } })

        const result = await rotateSecrets(keyed(`${newKey},${oldKeys}`))
        assert.deepEqual(result.skipped, [
          { configId: stuck.id, reason: 'config field "note": secret encrypted with key "gone", which PLUGIN_SECRETS_KEYS does not hold' },
        ])
        assert.equal(result.configs, 2)
        assert.equal(result.reencrypted, 1)
        assert.match((await rawConfig(fine.id)).apiKey, /^enc:v1:new:/)
        assert.match((await rawConfig(stuck.id)).apiKey, /^enc:v1:old:/, 'a skipped config is left as it was')

        const out = await runCli(['secrets', 'rotate'], { DATABASE_URL: h.db.url, PLUGIN_SECRETS_KEYS: `${newKey},${oldKeys}`, LOG_LEVEL: 'error' })
        assert.equal(out.code, 1, out.stderr)
        assert.equal(JSON.parse(out.stdout).skipped[0].configId, stuck.id)
        assert.match(out.stderr, new RegExp(`secrets rotate: skipped plugin config ${stuck.id}: config field "note": secret encrypted with key "gone"`))
      })

      it('is refused by an enable, through setConfigEnabled and an update with enabled: true alike, naming the field, until it is given anew', async () => {
        const view = await createConfig(h.ctx, { teamId, plugin: 'management-basic', config: { apiKey: SECRET, label: 'L' } })
        await setConfigEnabled(h.ctx, view.id, false)
        await plantLookAlike(view.id)
        const refusal = (err: unknown) => {
          assert.ok(err instanceof ManagementError)
          assert.equal(err.status, 400)
          assert.equal(err.field, 'note')
          assert.match(
            err.message,
            /^plugin "management-basic": config field "note" holds a sealed value that does not open here \(.*\): set it again or clear it$/,
          )
          return true
        }
        await assert.rejects(setConfigEnabled(h.ctx, view.id, true), refusal)
        await assert.rejects(updateConfig(h.ctx, view.id, { enabled: true }), refusal)
        await assert.rejects(updateConfig(h.ctx, view.id, { enabled: true, config: { label: 'M' } }), refusal)
        assert.equal((await getConfig(h.ctx, view.id)).enabled, false, 'still disabled')
        const given = await updateConfig(h.ctx, view.id, { enabled: true, config: { note: 'given anew' } })
        assert.equal(given.enabled, true)
      })

      it('can be cleared or replaced by an update, and until then stays as stored', async () => {
        const view = await createConfig(h.ctx, { teamId, plugin: 'management-basic', config: { apiKey: SECRET, label: 'L' } })
        await plantLookAlike(view.id)
        const kept = await updateConfig(h.ctx, view.id, { config: { label: 'M' } })
        assert.equal(kept.secret_fields.note, 'set')
        assert.equal((await rawConfig(view.id)).note, lookAlike)
        // Nothing tells a look-alike from a secret whose key is gone: the replacement is sealed, as for any sealed value.
        const replaced = await updateConfig(h.ctx, view.id, { config: { note: 'sk_given_again' } })
        assert.equal(replaced.secret_fields.note, 'set')
        assert.match((await rawConfig(view.id)).note, /^enc:v1:test:/)
        await plantLookAlike(view.id)
        const cleared = await updateConfig(h.ctx, view.id, { config: { note: null } })
        assert.equal(cleared.secret_fields.note, undefined)
        assert.equal((await rawConfig(view.id)).note, undefined)
        const plain = await updateConfig(h.ctx, view.id, { config: { note: 'plain again' } })
        assert.equal(plain.config.note, 'plain again')
      })
    })
  })
})
