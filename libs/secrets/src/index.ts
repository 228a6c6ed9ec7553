export { SecretBox, SecretKeyError, isSealed, sealedKeyId, SEALED_PREFIX } from './secret-box'
export { sealSecretFields, openSecretFields, openConfigFields, sealedKeys, secretKeys, secretAad } from './secret-fields'
export type { SecretScope, OpenedConfig } from './secret-fields'
export { redact, redactCut, redactError, redactValue, secretForms } from './redact'
