import { isSealed, SecretBox, SecretKeyError } from './secret-box'

/**
 * The part of a plugin.json config field sealing reads. Structural, so this package needs nothing
 * of plugin-vm: its PluginConfigField is one.
 */
export interface SecretFieldSpec {
  key?: string
  secret?: boolean
  type?: string
}

/** Where a config lives; part of each ciphertext's associated data. */
export interface SecretScope {
  teamId: number
  pluginId: number
}

export function secretAad(scope: SecretScope, key: string): string {
  return `plugin_config:${scope.teamId}:${scope.pluginId}:${key}`
}

/**
 * Keys whose stored value is sealed. They stay secret whatever the schema in use says: a version
 * pinned or installed later may not mark the field `secret`, and the value was given as one.
 */
export function sealedKeys(config: Record<string, unknown>): string[] {
  return Object.entries(config).flatMap(([key, value]) => (isSealed(value) ? [key] : []))
}

/**
 * The keys whose values are secret: the fields `schema` (a plugin.json's config) marks `secret`, and
 * `sealed`, keys stored sealed, which stay secret whatever the schema in use says (see sealedKeys).
 */
export function secretKeys(schema: readonly SecretFieldSpec[], sealed: Iterable<string> = []): Set<string> {
  return new Set([...schema.filter((f) => f.secret === true && f.key).map((f) => f.key as string), ...sealed])
}

/** The keys of a schema's attachment fields marked secret: their files' strings are scrubbed (attachmentSecrets). */
export function secretAttachmentKeys(schema: readonly SecretFieldSpec[]): string[] {
  return schema.flatMap((field) => (field.type === 'attachment' && field.secret === true && field.key ? [field.key] : []))
}

/**
 * Seals the non-empty values of fields plugin.json marks `secret`, and of `alsoSecret` (keys that
 * were sealed when read); `config` must be plaintext (opened first).
 */
export function sealSecretFields(
  schema: readonly SecretFieldSpec[],
  config: Record<string, unknown>,
  box: SecretBox,
  scope: SecretScope,
  alsoSecret: Iterable<string> = [],
): Record<string, unknown> {
  const secret = secretKeys(schema, alsoSecret)
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) =>
      secret.has(key) && typeof value === 'string' && value !== '' ? [key, box.seal(value, secretAad(scope, key))] : [key, value],
    ),
  )
}

/** A stored config opened field by field (see openConfigFields). */
export interface OpenedConfig<T> {
  /** Plaintext where a value opened; where one did not, the sealed value as stored. */
  config: Record<string, T>
  /** Every key whose stored value was sealed (see sealedKeys). */
  sealed: string[]
  /** Key to why its value did not open (names the key id, never a value). */
  unreadable: Record<string, string>
}

/**
 * Opens what it can and reports the rest, for callers that must go on without a value that does
 * not open: views (no key in this shell), an update clearing a value that only looked sealed,
 * `secrets rotate` skipping one config.
 */
export function openConfigFields<T>(config: Record<string, T>, box: SecretBox, scope: SecretScope): OpenedConfig<T> {
  const opened: OpenedConfig<T> = { config: {}, sealed: [], unreadable: {} }
  for (const [key, value] of Object.entries(config)) {
    opened.config[key] = value
    if (!isSealed(value)) continue
    opened.sealed.push(key)
    try {
      opened.config[key] = box.open(value, secretAad(scope, key)) as T
    } catch (err) {
      opened.unreadable[key] = (err as Error).message
    }
  }
  return opened
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
