import type { PluginConfigField } from '@plugin-server/plugin-vm'
import { envSecretBox } from '../secrets/env-secret-box'
import { SecretKeyError } from '../secrets/secret-box'
import { SecretScope, sealSecretFields } from '../secrets/secret-fields'
import { ManagementError } from './interfaces'

/**
 * The config as it is stored: secret fields sealed. With no key configured a secret value is
 * refused (fail closed) rather than written in the clear; configs without secrets need no key.
 */
export function sealConfig(
  pluginName: string,
  schema: readonly PluginConfigField[],
  config: Record<string, unknown>,
  scope: SecretScope,
): Record<string, unknown> {
  try {
    return sealSecretFields(schema, config, envSecretBox(), scope)
  } catch (err) {
    if (!(err instanceof SecretKeyError)) throw err
    const field = schema.find((f) => f.secret === true && f.key && typeof config[f.key] === 'string' && config[f.key] !== '')?.key
    throw new ManagementError(
      'validation_error',
      `plugin ${JSON.stringify(pluginName)}: config field ${JSON.stringify(field)} is secret and cannot be stored: ${err.message}`,
      field,
    )
  }
}
