import { createHash, createPrivateKey } from 'node:crypto'
import { keyDerivationProblem } from './key-derivation'

/** Bits of an RSA or DSA key's modulus: signing with a 16 384-bit key costs ~300 ms of the host's event loop each time (4 096: ~2 ms). */
export const MAX_KEY_MODULUS_BITS = 4096
/** Different keys one instance may have decrypted: each costs up to ~50 ms of the event loop (key-derivation.ts). */
export const MAX_KEYS_PER_INSTANCE = 16
/** A 4 096-bit RSA key is ~3.3 KB of PEM; a certificate chain in front of it is the most a real key file adds. */
const MAX_KEY_TEXT = 64 * 1024

/**
 * The private keys a plugin hands bridged SDKs (Snowflake's key pair, pg's TLS client key, a Google
 * service account's key), read once on the host and handed to the SDK decrypted. The SDKs decrypt
 * and sign on the host's event loop, which every team's plugins share: Snowflake decrypted the key
 * again at every connect, and a key whose key derivation asks for 2^31 PBKDF2 rounds held the loop
 * for minutes. Here, before anything decrypts it, the key's encryption is read from its DER and
 * refused past a bounded cost (key-derivation.ts); a key of a larger modulus than
 * MAX_KEY_MODULUS_BITS is refused; each different key is decrypted once per instance, and at most
 * MAX_KEYS_PER_INSTANCE of them.
 */
export class PrivateKeys {
  private readonly unlocked = new Map<string, string>()

  /**
   * `pem` (decrypted with `passphrase` if it is encrypted) as unencrypted PKCS#8 PEM, or the error
   * `fail` makes of a message naming `what` (the SDK option) and the problem.
   */
  unlock(pem: unknown, passphrase: unknown, what: string, fail: (message: string) => Error): string {
    const text = typeof pem === 'string' ? pem : pem instanceof Uint8Array ? Buffer.from(pem).toString('latin1') : undefined
    if (text === undefined) throw fail(`${what} must be a PEM string`)
    if (passphrase !== undefined && typeof passphrase !== 'string') throw fail(`${what}: its passphrase must be a string`)
    if (text.length > MAX_KEY_TEXT) throw fail(`${what} is ${text.length} characters long, more than a private key's PEM (${MAX_KEY_TEXT} at most)`)
    const id = createHash('sha256')
      .update(text)
      .update('\0')
      .update(passphrase ?? '')
      .digest('hex')
    const known = this.unlocked.get(id)
    if (known !== undefined) return known
    for (const der of encryptedBlocks(text)) {
      const problem = keyDerivationProblem(der)
      if (problem !== null) throw fail(`${what} is not accepted: ${problem}`)
    }
    if (this.unlocked.size >= MAX_KEYS_PER_INSTANCE)
      throw fail(`${what} is not accepted: this plugin has already used ${MAX_KEYS_PER_INSTANCE} different private keys, the most one plugin instance may`)
    let key: ReturnType<typeof createPrivateKey>
    try {
      key = createPrivateKey({ key: text, format: 'pem', passphrase })
    } catch (error) {
      throw fail(`${what} could not be read: ${(error as Error).message}`)
    }
    const bits = key.asymmetricKeyDetails?.modulusLength
    if (bits !== undefined && bits > MAX_KEY_MODULUS_BITS)
      throw fail(
        `${what} is a ${bits}-bit ${key.asymmetricKeyType} key; at most ${MAX_KEY_MODULUS_BITS} bits are accepted (each signature with it costs this server's event loop)`,
      )
    const plain = key.export({ type: 'pkcs8', format: 'pem' }) as string
    this.unlocked.set(id, plain)
    return plain
  }
}

/** The DER of each `ENCRYPTED PRIVATE KEY` block of a PEM text (PKCS#8's EncryptedPrivateKeyInfo). */
function encryptedBlocks(text: string): Buffer[] {
  const blocks: Buffer[] = []
  for (const match of text.matchAll(/-----BEGIN ENCRYPTED PRIVATE KEY-----([^-]*)-----END ENCRYPTED PRIVATE KEY-----/g)) {
    blocks.push(Buffer.from(match[1].replace(/\s+/g, ''), 'base64'))
  }
  return blocks
}
