import type { PluginConfigField } from '@plugin-server/plugin-vm'
import { SecretBox, SecretKeyError, SecretScope, sealSecretFields } from '@plugin-server/secrets'
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
  box: SecretBox,
): Record<string, unknown> {
  try {
    return sealSecretFields(schema, config, box, scope)
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
