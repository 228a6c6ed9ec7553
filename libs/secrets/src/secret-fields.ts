import { isSealed, SecretBox, SecretKeyError } from './secret-box'

/**
 * The part of a plugin.json config field sealing reads. Structural, so this package needs nothing
 * of plugin-vm: its PluginConfigField is one.
 */
export interface SecretFieldSpec {
  key?: string
  secret?: boolean
}

/** Where a config lives; part of each ciphertext's associated data. */
export interface SecretScope {
  teamId: number
  pluginId: number
}

export function secretAad(scope: SecretScope, key: string): string {
  return `plugin_config:${scope.teamId}:${scope.pluginId}:${key}`
}

/** Seals the non-empty values of fields plugin.json marks `secret`; `config` must be plaintext (opened first). */
export function sealSecretFields(
  schema: readonly SecretFieldSpec[],
  config: Record<string, unknown>,
  box: SecretBox,
  scope: SecretScope,
): Record<string, unknown> {
  const secret = new Set(schema.filter((f) => f.secret === true && f.key).map((f) => f.key as string))
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) =>
      secret.has(key) && typeof value === 'string' && value !== '' ? [key, box.seal(value, secretAad(scope, key))] : [key, value],
    ),
  )
}

/** Opens every sealed value, whatever the schema says now (a newer version may have dropped `secret`). */
export function openSecretFields<T>(config: Record<string, T>, box: SecretBox, scope: SecretScope): Record<string, T> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => {
      if (!isSealed(value)) return [key, value]
      try {
        return [key, box.open(value, secretAad(scope, key)) as T]
      } catch (err) {
        // Still a SecretKeyError when it was one, so views can tell "no key here" from other failures.
        const Wrapped = err instanceof SecretKeyError ? SecretKeyError : Error
        throw new Wrapped(`secret config field "${key}": ${(err as Error).message}`)
      }
    }),
  )
}
