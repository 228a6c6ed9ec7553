export { SecretBox, SecretKeyError, isSealed, sealedKeyId } from './secret-box'
export { sealSecretFields, openSecretFields, secretAad } from './secret-fields'
export type { SecretScope } from './secret-fields'
export { redact } from './redact'
