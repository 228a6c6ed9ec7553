export { SecretBox, SecretKeyError, SEALED_PREFIX, isSealed, sealedKeyId } from './secret-box'
export { sealSecretFields, openSecretFields, secretAad, SecretScope } from './secret-fields'
export { envSecretBox } from './env-secret-box'
export { redact } from './redact'
