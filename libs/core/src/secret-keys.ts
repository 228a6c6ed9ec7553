/** One key of `PLUGIN_SECRETS_KEYS`: an id stored next to each ciphertext, and 32 bytes of AES-256 key. */
export interface SecretKey {
  id: string
  key: Buffer
}

export const SECRETS_KEYS_VARIABLE = 'PLUGIN_SECRETS_KEYS'

/** What a key id may be: the id part of an entry. */
const KEY_ID = '[A-Za-z0-9_.-]{1,32}'
export const SECRET_KEY_ID = new RegExp(`^${KEY_ID}$`)
const ENTRY = new RegExp(`^(${KEY_ID}):([A-Za-z0-9+/]+={0,2})$`)

/**
 * `id:base64key,id:base64key`: the first key encrypts, every key decrypts, so a rotation adds a key
 * in front, re-encrypts (`plugin-server secrets rotate`) and only then drops the old one.
 * Throws a message naming the variable and the bad entry (by position: an entry holds key material).
 */
export function parseSecretKeys(raw: string | undefined): SecretKey[] {
  const entries = (raw ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')
  const keys: SecretKey[] = []
  entries.forEach((entry, index) => {
    const match = ENTRY.exec(entry)
    const key = match ? Buffer.from(match[2], 'base64') : null
    if (!match || !key || key.length !== 32) {
      throw new Error(`${SECRETS_KEYS_VARIABLE}: entry ${index + 1} is not "<id>:<base64 of 32 bytes>" (make one with: openssl rand -base64 32)`)
    }
    if (keys.some((k) => k.id === match[1])) throw new Error(`${SECRETS_KEYS_VARIABLE}: key id "${match[1]}" appears twice`)
    keys.push({ id: match[1], key })
  })
  return keys
}
