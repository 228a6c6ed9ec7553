import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { SECRETS_KEYS_VARIABLE, SecretKey } from '@plugin-server/core'

/** Marks a sealed value; anything else is legacy plaintext (written before encryption existed). */
export const SEALED_PREFIX = 'enc:v1:'

/** A secret could not be sealed or opened; the message names the key id and the variable, never a value. */
export class SecretKeyError extends Error {
  override name = 'SecretKeyError'
}

/**
 * AES-256-GCM for secret config values: `enc:v1:<key id>:<base64(iv | tag | ciphertext)>`, a fresh
 * 12-byte IV per value. `aad` binds the ciphertext to where it is stored (team, plugin, field), so a
 * value copied into another team's config does not decrypt there.
 */
export class SecretBox {
  constructor(readonly keys: readonly SecretKey[]) {}

  get currentKeyId(): string | null {
    return this.keys[0]?.id ?? null
  }

  seal(plaintext: string, aad: string): string {
    const current = this.keys[0]
    if (!current) throw new SecretKeyError(`${SECRETS_KEYS_VARIABLE} is not set: secret config values are encrypted at rest and need a key (see SECURITY.md)`)
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', current.key, iv)
    cipher.setAAD(Buffer.from(aad, 'utf8'))
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    return `${SEALED_PREFIX}${current.id}:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64')}`
  }

  open(value: string, aad: string): string {
    if (!isSealed(value)) return value
    const keyId = sealedKeyId(value)
    const key = this.keys.find((k) => k.id === keyId)
    if (!key) throw new SecretKeyError(`secret encrypted with key "${keyId}", which ${SECRETS_KEYS_VARIABLE} does not hold`)
    const raw = Buffer.from(value.slice(SEALED_PREFIX.length + keyId.length + 1), 'base64')
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.key, raw.subarray(0, 12))
      decipher.setAAD(Buffer.from(aad, 'utf8'))
      decipher.setAuthTag(raw.subarray(12, 28))
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
    } catch {
      throw new SecretKeyError(`secret encrypted with key "${keyId}" does not decrypt: wrong key material, or the value was moved or altered`)
    }
  }
}

export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(SEALED_PREFIX)
}

export function sealedKeyId(value: string): string {
  return value.slice(SEALED_PREFIX.length).split(':', 1)[0]
}
