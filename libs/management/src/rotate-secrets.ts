import type { PluginConfigField } from '@plugin-server/plugin-vm'
import { SECRETS_KEYS_VARIABLE } from '@plugin-server/core'
import { isSealed, SecretBox, SecretKeyError, SecretScope, secretAad, sealedKeyId, secretKeys } from '@plugin-server/secrets'
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
  /** Configs left as they were because a value did not open; the reason names the field and key id, never a value. */
  skipped: SkippedConfig[]
}

export interface SkippedConfig {
  configId: number
  reason: string
}

export type RotateProgress = (done: number, total: number, result: RotateSecretsResult) => void

type Row = PluginConfigSecretsRecord<PluginConfigField[]>

/**
 * Re-encrypts every stored secret with the first key of the context's box (PLUGIN_SECRETS_KEYS; it must hold every older key too), one config per
 * transaction (row locked, so a concurrent update is not lost). The plaintext does not change and
 * `updated_at` is left alone, so workers do not reload anything. Safe to run again at any time.
 * A config with a value that does not open is skipped and reported in `skipped` rather than
 * stopping the run: one stale or hand-made value must not leave every later config unrotated.
 */
export async function rotateSecrets(ctx: ManagementContext, onProgress?: RotateProgress): Promise<RotateSecretsResult> {
  const box = ctx.secrets
  const keyId = box.currentKeyId
  if (!keyId) throw new ManagementError('validation_error', `${SECRETS_KEYS_VARIABLE} is not set: put the new key first in it and run again`)
  const ids = await listPluginConfigIds(ctx.pool)
  const result: RotateSecretsResult = { keyId, configs: 0, reencrypted: 0, encrypted: 0, current: 0, skipped: [] }
  for (const id of ids) {
    await inTransaction(ctx.pool, async (client) => {
      // The secret fields of the version the config runs: a pinned one may declare others than the current version.
      const row = await lockPluginConfigSecrets<PluginConfigField[]>(client, id)
      if (!row) return
      // Counted only once the config is written: a skipped one leaves the totals as they were.
      const counts: Counts = { reencrypted: 0, encrypted: 0, current: 0 }
      let next: Record<string, unknown> | null
      try {
        next = reseal(row, box, keyId, counts)
      } catch (err) {
        if (!(err instanceof FieldNotOpened)) throw err
        result.skipped.push({ configId: id, reason: err.message })
        return
      }
      if (next) await writePluginConfigValues(client, id, next)
      result.reencrypted += counts.reencrypted
      result.encrypted += counts.encrypted
      result.current += counts.current
    }).catch((err: Error) => {
      throw new Error(`plugin config ${id}: ${err.message}`)
    })
    result.configs++
    onProgress?.(result.configs, ids.length, result)
  }
  const summary = { keyId, configs: result.configs, reencrypted: result.reencrypted, encrypted: result.encrypted, skipped: result.skipped }
  if (result.skipped.length > 0) ctx.logger.warn(summary, 'plugin secrets rotated, except configs whose values do not open')
  else ctx.logger.info(summary, 'plugin secrets rotated')
  return result
}

type Counts = Pick<RotateSecretsResult, 'reencrypted' | 'encrypted' | 'current'>

/** A stored value that does not open: its config is skipped, the others go on. */
class FieldNotOpened extends Error {}

/** The config with every secret on the current key, or null when nothing had to change. */
function reseal(row: Row, box: SecretBox, keyId: string, result: Counts): Record<string, unknown> | null {
  const scope: SecretScope = { teamId: row.team_id, pluginId: row.plugin_id }
  const secret = secretKeys(row.config_schema)
  let changed = false
  const next: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(row.config)) {
    next[key] = value
    if (isSealed(value)) {
      if (sealedKeyId(value) === keyId) {
        result.current++
        continue
      }
      next[key] = box.seal(open(box, value, scope, key), secretAad(scope, key))
      result.reencrypted++
      changed = true
    } else if (secret.has(key) && typeof value === 'string' && value !== '') {
      next[key] = box.seal(value, secretAad(scope, key))
      result.encrypted++
      changed = true
    }
  }
  return changed ? next : null
}

function open(box: SecretBox, value: string, scope: SecretScope, key: string): string {
  try {
    return box.open(value, secretAad(scope, key))
  } catch (err) {
    if (!(err instanceof SecretKeyError)) throw err
    throw new FieldNotOpened(`config field ${JSON.stringify(key)}: ${err.message}`)
  }
}
