import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import {
  createConfig,
  deletePlugin,
  getConfig,
  getPlugin,
  installPluginFromPath,
  listConfigs,
  ManagementError,
  rotateSecrets,
  setCurrentVersion,
  updateConfig,
} from '@plugin-server/management'
import { loadEnabledConfigs, loadPluginFiles, readMetrics, updateMetric } from '@plugin-server/plugin-runtime'
import { triggerJob } from '@plugin-server/scheduling'
import { tryEvent } from '@plugin-server/try-it'
import { writePlugin } from '../harness/plugins'
import { testSecretBox } from '../harness/security-env'
import { createTeamRow, ManagementHarness, startManagement } from './management-fixture'

/** The defaults of PLUGIN_TEAM_REDIS_LIMIT_MB and PLUGIN_REDIS_LIMIT_MB. */
const REDIS_LIMITS = { teamRedisLimitMb: 256, redisLimitMb: 2048, jobMaxPayloadBytes: 1024 * 1024 }

/** A plugin whose version N tags events with N; version 1 also requires `greeting`, later ones do not. */
function versionDir(version: number): string {
  const config = version === 1 ? [{ key: 'greeting', type: 'string', required: true }] : []
  return writePlugin('versioned', `export function processEvent(e) { e.properties.version = ${version}; return e }`, config)
}

const refusal = (code: string, pattern: RegExp, field?: string) => (err: unknown) =>
  err instanceof ManagementError && err.code === code && pattern.test(err.message) && (field === undefined || err.field === field)

describe('plugin versions: rollback, pin, delete', () => {
  let h: ManagementHarness
  let teamId: number

  beforeEach(async () => {
    h = await startManagement()
    teamId = await createTeamRow(h)
  })

  afterEach(async () => {
    await h.close()
  })

  const install = async (version: number) => (await installPluginFromPath(h.ctx, versionDir(version))).plugin
  const indexSource = async (pluginId: number, contentHash: string) => (await loadPluginFiles(h.db.pool, pluginId, contentHash)).get('index.ts')?.toString()

  describe('rollback', () => {
    it('makes an earlier version current: its plugin.json, its files, and a reload for the workers', async () => {
      const v1 = await install(1)
      const v2 = await install(2)
      const result = await setCurrentVersion(h.ctx, 'versioned', 1)
      assert.equal(result.status, 'changed')
      assert.equal(result.message, 'plugin "versioned" rolled back from version 2 to version 1; 0 config(s) without a pin now run it')
      assert.equal(result.previous_version, 2)
      assert.equal(result.plugin.version, 1)
      assert.equal(result.plugin.content_hash, v1.content_hash)
      assert.deepEqual(result.plugin.config_schema, [{ key: 'greeting', type: 'string', required: true }])
      assert.notEqual(v1.content_hash, v2.content_hash)
      const detail = await getPlugin(h.ctx, 'versioned')
      assert.deepEqual(
        detail.versions.map((v) => [v.version, v.current]),
        [
          [2, false],
          [1, true],
        ],
      )
      assert.match((await indexSource(v1.id, result.plugin.content_hash)) ?? '', /version = 1/)
      await h.reloads.next((m) => m.reason === 'plugin version changed' && m.pluginId === v1.id)
    })

    it('numbers the next install after the highest version and makes it current', async () => {
      await install(1)
      await install(2)
      await setCurrentVersion(h.ctx, 'versioned', 1)
      const v3 = await install(3)
      assert.equal(v3.version, 3)
      const detail = await getPlugin(h.ctx, v3.id)
      assert.deepEqual(
        detail.versions.map((v) => [v.version, v.current]),
        [
          [3, true],
          [2, false],
          [1, false],
        ],
      )
    })

    it('moves the configs without a pin, and says how many run each version', async () => {
      await install(1)
      const following = await createConfig(h.ctx, { teamId, plugin: 'versioned', config: { greeting: 'hi' } })
      await install(2)
      const otherTeam = await createTeamRow(h, 'other')
      const pinned = await createConfig(h.ctx, { teamId: otherTeam, plugin: 'versioned', pinnedVersion: 2 })
      assert.equal((await getConfig(h.ctx, following.id)).plugin_version, 2)
      const result = await setCurrentVersion(h.ctx, 'versioned', 1)
      assert.equal(result.following_configs, 1)
      assert.equal((await getConfig(h.ctx, following.id)).plugin_version, 1)
      assert.equal((await getConfig(h.ctx, pinned.id)).plugin_version, 2, 'a pinned config stays where it is')
      const counts = (await getPlugin(h.ctx, 'versioned')).versions.map((v) => [v.version, v.config_count])
      assert.deepEqual(counts, [
        [2, 1],
        [1, 1],
      ])
    })

    it('refuses a version the plugin does not have, naming those it has', async () => {
      await install(1)
      await install(2)
      await assert.rejects(
        setCurrentVersion(h.ctx, 'versioned', 7),
        refusal('validation_error', /^plugin "versioned" has no version 7 \(it has versions 1, 2\)$/, 'version'),
      )
      await assert.rejects(setCurrentVersion(h.ctx, 'nope', 1), refusal('not_found', /plugin "nope" not found/))
    })

    it('does nothing, and reloads nothing, for the version already current', async () => {
      const v1 = await install(1)
      const result = await setCurrentVersion(h.ctx, v1.id, 1)
      assert.equal(result.status, 'unchanged')
      assert.equal(result.message, 'plugin "versioned" already runs version 1; nothing to do')
      await new Promise((resolve) => setTimeout(resolve, 200))
      assert.equal(h.reloads.messages.filter((m) => m.reason === 'plugin version changed').length, 0)
    })
  })

  describe('pin', () => {
    it('keeps a pinned config on its version when a new one is installed: same files, same signature', async () => {
      const v1 = await install(1)
      const config = await createConfig(h.ctx, { teamId, plugin: 'versioned', config: { greeting: 'hi' }, enabled: true, pinnedVersion: 1 })
      assert.equal(config.pinned_version, 1)
      assert.equal(config.plugin_version, 1)
      const [before] = await loadEnabledConfigs(h.db.pool)
      await install(2)
      const [after] = await loadEnabledConfigs(h.db.pool)
      assert.equal(after.pluginVersion, 1)
      assert.equal(after.pinnedVersion, 1)
      assert.equal(after.contentHash, v1.content_hash)
      assert.equal(after.signature, before.signature, 'nothing for the workers to reload')
      assert.match((await indexSource(v1.id, after.contentHash)) ?? '', /version = 1/)
      const view = (await listConfigs(h.ctx, teamId))[0]
      assert.deepEqual([view.plugin_version, view.pinned_version], [1, 1])
    })

    it('unpinning runs the current version again, and the workers are told', async () => {
      await install(1)
      const config = await createConfig(h.ctx, { teamId, plugin: 'versioned', config: { greeting: 'hi' }, enabled: true, pinnedVersion: 1 })
      const v2 = await install(2)
      const view = await updateConfig(h.ctx, config.id, { pinnedVersion: null })
      assert.deepEqual([view.plugin_version, view.pinned_version], [2, null])
      const [record] = await loadEnabledConfigs(h.db.pool)
      assert.equal(record.contentHash, v2.content_hash)
      await h.reloads.next((m) => m.reason === 'config updated' && m.pluginConfigId === config.id)
    })

    it('leaves the pin alone when an update does not mention it', async () => {
      await install(1)
      const config = await createConfig(h.ctx, { teamId, plugin: 'versioned', config: { greeting: 'hi' }, pinnedVersion: 1 })
      await install(2)
      const view = await updateConfig(h.ctx, config.id, { config: { greeting: 'hello' } })
      assert.deepEqual([view.plugin_version, view.pinned_version, view.config.greeting], [1, 1, 'hello'])
    })

    it('checks the config against the fields of the version it pins', async () => {
      await install(1)
      await install(2)
      const config = await createConfig(h.ctx, { teamId, plugin: 'versioned' })
      await assert.rejects(updateConfig(h.ctx, config.id, { pinnedVersion: 1 }), refusal('validation_error', /greeting/, 'greeting'))
      const pinned = await updateConfig(h.ctx, config.id, { pinnedVersion: 1, config: { greeting: 'hi' } })
      assert.deepEqual([pinned.plugin_version, pinned.config.greeting], [1, 'hi'])
    })

    it('refuses a version the plugin does not have, on create and on update', async () => {
      await install(1)
      await assert.rejects(
        createConfig(h.ctx, { teamId, plugin: 'versioned', config: { greeting: 'hi' }, pinnedVersion: 4 }),
        refusal('validation_error', /^plugin "versioned" has no version 4 \(it has versions 1\)$/, 'pinned_version'),
      )
      const config = await createConfig(h.ctx, { teamId, plugin: 'versioned', config: { greeting: 'hi' } })
      await assert.rejects(updateConfig(h.ctx, config.id, { pinnedVersion: 4 }), refusal('validation_error', /has no version 4/, 'pinned_version'))
      assert.equal((await getConfig(h.ctx, config.id)).pinned_version, null)
    })
  })

  describe('try it', () => {
    it('runs the version the config runs: its pin, not the current version', async () => {
      await install(1)
      const config = await createConfig(h.ctx, { teamId, plugin: 'versioned', config: { greeting: 'hi' }, pinnedVersion: 1 })
      await install(2)
      const tried = () => tryEvent(h.ctx, { teamId, event: { event: 'e', distinct_id: 'u' }, target: { plugin_config_id: config.id } })
      assert.equal((await tried()).output?.properties?.version, 1)
      await updateConfig(h.ctx, config.id, { pinnedVersion: null })
      assert.equal((await tried()).output?.properties?.version, 2)
    })
  })

  describe('what else reads the version a config runs', () => {
    it('secrets rotate encrypts a plaintext value of a secret field only the pinned version declares', async () => {
      const v1 = writePlugin('versioned', 'export function processEvent(e) { return e }', [{ key: 'token', type: 'string', secret: true }])
      await installPluginFromPath(h.ctx, v1)
      const config = await createConfig(h.ctx, { teamId, plugin: 'versioned', config: { token: 'tok_0123456789' }, pinnedVersion: 1 })
      await install(2)
      // As stored before secrets were encrypted at rest: what rotate encrypts, if the schema says the field is secret.
      await h.db.pool.query(`UPDATE plugin_configs SET config = '{"token": "tok_0123456789"}' WHERE id = $1`, [config.id])
      const newKey = `next:${randomBytes(32).toString('base64')}`
      await rotateSecrets({ ...h.ctx, secrets: testSecretBox(`${newKey},${process.env.PLUGIN_SECRETS_KEYS}`) })
      const { rows } = await h.db.pool.query<{ token: string }>(`SELECT config->>'token' AS token FROM plugin_configs WHERE id = $1`, [config.id])
      assert.match(rows[0].token, /^enc:v1:next:/)
    })

    it('a job is triggered against the public jobs of the pinned version', async () => {
      /** A version whose only public job is `job`. */
      const withJob = async (job: string) => {
        const dir = writePlugin('versioned', `export const jobs = { ${job}: async () => undefined }`)
        await fs.writeFile(path.join(dir, 'plugin.json'), JSON.stringify({ name: 'versioned', config: [], publicJobs: { [job]: { payload: {} } } }))
        return installPluginFromPath(h.ctx, dir)
      }
      await withJob('sync')
      const config = await createConfig(h.ctx, { teamId, plugin: 'versioned', enabled: true, pinnedVersion: 1 })
      await withJob('other')
      const triggered = await triggerJob(h.ctx, { pluginConfigId: config.id, jobName: 'sync', payload: {} }, REDIS_LIMITS)
      assert.equal(triggered.name, 'sync')
      await updateConfig(h.ctx, config.id, { pinnedVersion: null })
      await assert.rejects(triggerJob(h.ctx, { pluginConfigId: config.id, jobName: 'sync', payload: {} }, REDIS_LIMITS), /sync/)
    })
  })

  describe('delete', () => {
    it('deletes a plugin no config uses, with its versions, and tells the workers', async () => {
      const v1 = await install(1)
      await install(2)
      const result = await deletePlugin(h.ctx, 'versioned')
      assert.deepEqual(result, { id: v1.id, name: 'versioned', deleted: true, deleted_configs: [] })
      const { rows } = await h.db.pool.query('SELECT count(*)::int AS n FROM plugin_versions WHERE plugin_id = $1', [v1.id])
      assert.equal(rows[0].n, 0)
      await assert.rejects(getPlugin(h.ctx, v1.id), refusal('not_found', /not found/))
      await h.reloads.next((m) => m.reason === 'plugin deleted' && m.pluginId === v1.id)
    })

    it('is refused while configs use it, naming each config and its team', async () => {
      await install(1)
      const enabled = await createConfig(h.ctx, { teamId, plugin: 'versioned', config: { greeting: 'hi' }, enabled: true })
      const otherTeam = await createTeamRow(h, 'other')
      const disabled = await createConfig(h.ctx, { teamId: otherTeam, plugin: 'versioned', config: { greeting: 'hi' } })
      await assert.rejects(
        deletePlugin(h.ctx, 'versioned'),
        refusal(
          'conflict',
          new RegExp(
            `^plugin "versioned" is used by 2 config\\(s\\): config ${enabled.id} \\(team ${teamId}, enabled\\), config ${disabled.id} \\(team ${otherTeam}, disabled\\); ` +
              'delete those configs first, or force the delete to delete them with it$',
          ),
        ),
      )
      assert.equal((await listConfigs(h.ctx, teamId)).length, 1, 'nothing was deleted')
    })

    it('with force deletes the configs using it too, and says which', async () => {
      await install(1)
      const config = await createConfig(h.ctx, { teamId, plugin: 'versioned', config: { greeting: 'hi' }, enabled: true })
      const result = await deletePlugin(h.ctx, 'versioned', { force: true })
      assert.deepEqual(
        result.deleted_configs.map((c) => [c.id, c.team_id, c.runs_version]),
        [[config.id, teamId, 1]],
      )
      assert.deepEqual(await listConfigs(h.ctx, teamId), [])
      assert.deepEqual(await loadEnabledConfigs(h.db.pool), [])
    })

    it('with force deletes the plugin metrics of the configs it deletes', async () => {
      await install(1)
      const config = await createConfig(h.ctx, { teamId, plugin: 'versioned', config: { greeting: 'hi' }, enabled: true })
      await updateMetric(h.ctx.redis, h.ctx.queuePrefix, config.id, 'seen', 'sum', 1)
      await deletePlugin(h.ctx, 'versioned', { force: true })
      assert.deepEqual(await readMetrics(h.ctx.redis, h.ctx.queuePrefix, config.id), {})
      assert.deepEqual(await h.ctx.redis.smembers(`${h.ctx.queuePrefix}:plugin-metrics-configs`), [])
    })
  })
})
