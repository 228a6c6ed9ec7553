import type { PluginConfigField } from '@plugin-server/plugin-vm'
import { SecretBox, SecretKeyError, SecretScope, sealSecretFields, secretKeys } from '@plugin-server/secrets'
import { ManagementError } from './interfaces'

/** What an update read of the stored config's sealing; a new config has none. */
export interface StoredSealing {
  /** Keys stored sealed: sealed again whatever `schema` says, so a pin or a new version cannot unseal them. */
  sealed: readonly string[]
  /** Keys whose sealed value did not open and which the caller neither replaced nor cleared: written back as stored. */
  asStored: readonly string[]
}

/**
 * The config as it is stored: secret fields sealed (those `schema` marks, and those stored sealed).
 * With no key configured a secret value is refused (fail closed) rather than written in the clear;
 * configs without secrets need no key.
 */
export function sealConfig(
  pluginName: string,
  schema: readonly PluginConfigField[],
  config: Record<string, unknown>,
  scope: SecretScope,
  box: SecretBox,
  stored: StoredSealing = { sealed: [], asStored: [] },
): Record<string, unknown> {
  const asStored = new Set(stored.asStored)
  const plain = Object.fromEntries(Object.entries(config).filter(([key]) => !asStored.has(key)))
  const kept = Object.fromEntries(Object.entries(config).filter(([key]) => asStored.has(key)))
  try {
    return { ...sealSecretFields(schema, plain, box, scope, stored.sealed), ...kept }
  } catch (err) {
    if (!(err instanceof SecretKeyError)) throw err
    const secret = secretKeys(schema, stored.sealed)
    const field = Object.keys(plain).find((key) => secret.has(key) && typeof plain[key] === 'string' && plain[key] !== '')
    throw new ManagementError(
      'validation_error',
      `plugin ${JSON.stringify(pluginName)}: config field ${JSON.stringify(field)} is secret and cannot be stored: ${err.message}`,
      field,
    )
  }
}
