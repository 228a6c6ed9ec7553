import type { PluginConfigField } from '@plugin-server/plugin-vm'
import { SECRETS_KEYS_VARIABLE } from '@plugin-server/core'
import { isSealed, SecretBox, SecretScope, secretAad, sealedKeyId } from '@plugin-server/secrets'
import { listPluginConfigIds, lockPluginConfigSecrets, PluginConfigSecretsRecord, writePluginConfigValues } from '@plugin-server/db'
import { inTransaction } from './db-helpers'
import { ManagementContext, ManagementError } from './interfaces'

export interface RotateSecretsResult {
  /** Id of the key every secret is now encrypted with. */
  keyId: string
  configs: number
  /** Values re-encrypted from an older key. */
  reencrypted: number
  /** Plaintext values (written before encryption, or by hand) now encrypted. */
  encrypted: number
  /** Values already on the current key, left as they were. */
  current: number
}

export type RotateProgress = (done: number, total: number, result: RotateSecretsResult) => void

type Row = PluginConfigSecretsRecord<PluginConfigField[]>

/**
 * Re-encrypts every stored secret with the first key of the context's box (PLUGIN_SECRETS_KEYS; it must hold every older key too), one config per
 * transaction (row locked, so a concurrent update is not lost). The plaintext does not change and
 * `updated_at` is left alone, so workers do not reload anything. Safe to run again at any time.
 */
export async function rotateSecrets(ctx: ManagementContext, onProgress?: RotateProgress): Promise<RotateSecretsResult> {
  const box = ctx.secrets
  const keyId = box.currentKeyId
  if (!keyId) throw new ManagementError('validation_error', `${SECRETS_KEYS_VARIABLE} is not set: put the new key first in it and run again`)
  const ids = await listPluginConfigIds(ctx.pool)
  const result: RotateSecretsResult = { keyId, configs: 0, reencrypted: 0, encrypted: 0, current: 0 }
  for (const id of ids) {
    await inTransaction(ctx.pool, async (client) => {
      // The secret fields of the version the config runs: a pinned one may declare others than the current version.
      const row = await lockPluginConfigSecrets<PluginConfigField[]>(client, id)
      if (!row) return
      const next = reseal(row, box, keyId, result)
      if (next) await writePluginConfigValues(client, id, next)
    }).catch((err: Error) => {
      throw new Error(`plugin config ${id}: ${err.message}`)
    })
    result.configs++
    onProgress?.(result.configs, ids.length, result)
  }
  ctx.logger.info({ keyId, configs: result.configs, reencrypted: result.reencrypted, encrypted: result.encrypted }, 'plugin secrets rotated')
  return result
}

/** The config with every secret on the current key, or null when nothing had to change. */
function reseal(row: Row, box: SecretBox, keyId: string, result: RotateSecretsResult): Record<string, unknown> | null {
  const scope: SecretScope = { teamId: row.team_id, pluginId: row.plugin_id }
  const secretKeys = new Set(row.config_schema.filter((f) => f.secret === true && f.key).map((f) => f.key as string))
  let changed = false
  const next: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(row.config)) {
    next[key] = value
    if (isSealed(value)) {
      if (sealedKeyId(value) === keyId) {
        result.current++
        continue
      }
      next[key] = box.seal(box.open(value, secretAad(scope, key)), secretAad(scope, key))
      result.reencrypted++
      changed = true
    } else if (secretKeys.has(key) && typeof value === 'string' && value !== '') {
      next[key] = box.seal(value, secretAad(scope, key))
      result.encrypted++
      changed = true
    }
  }
  return changed ? next : null
}
