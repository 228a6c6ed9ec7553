import assert from 'node:assert/strict'
import { generateKeyPairSync, sign, verify } from 'node:crypto'
import path from 'node:path'
import { otherSchemeKey, pbkdf2Key, pkcs12Key, scryptKey, unreadableKey } from '../harness/encrypted-keys'

// Internal to plugin-vm (the bridged SDKs' options use them), so loaded by path as sync-promise-gate.test.ts does.
const { PrivateKeys, MAX_KEYS_PER_INSTANCE } = require(
  path.resolve(__dirname, '../../../libs/plugin-vm/dist/bridge/private-keys.js'),
) as typeof import('@plugin-server/plugin-vm/dist/bridge/private-keys')

describe('PrivateKeys (the private keys handed to bridged SDKs)', () => {
  const fail = (message: string) => new TypeError(`sdk: ${message}`)
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const encrypted = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }) as string

  it('unlock answers an encrypted key decrypted, as unencrypted PKCS#8 the SDK signs with; an unencrypted one as it is', () => {
    const keys = new PrivateKeys()
    const plain = keys.unlock(encrypted, 'secret', 'option "privateKey"', fail)
    assert.match(plain, /^-----BEGIN PRIVATE KEY-----\n/)
    assert.equal(verify('sha256', Buffer.from('x'), publicKey, sign('sha256', Buffer.from('x'), plain)), true)
    assert.equal(keys.unlock(privateKey.export({ type: 'pkcs1', format: 'pem' }), undefined, 'k', fail), plain)
  })

  it('unlock refuses a key derivation of more rounds than it pays for before decrypting anything (PBKDF2 2^31 rounds, PKCS#12, scrypt), naming the option', () => {
    const keys = new PrivateKeys()
    assert.throws(() => keys.unlock(pbkdf2Key(2 ** 31 - 1), 'secret', 'option "privateKey"', fail), {
      name: 'TypeError',
      message:
        'sdk: option "privateKey" is not accepted: its key derivation asks for 2147483647 rounds; at most 100000 are accepted (re-encrypt it with fewer, e.g. openssl pkcs8 -topk8 -iter 2048)',
    })
    assert.throws(() => keys.unlock(pkcs12Key(1_000_000), 'secret', 'k', fail), /asks for 1000000 rounds/)
    assert.throws(() => keys.unlock(scryptKey(2 ** 20, 8, 1), 'secret', 'k', fail), /scrypt with N × r × p = 8388608; at most 131072 are accepted/)
    assert.throws(() => keys.unlock(otherSchemeKey(), 'secret', 'k', fail), /a scheme this server does not decrypt/)
    assert.throws(() => keys.unlock(unreadableKey(), 'secret', 'k', fail), /its encryption could not be read/)
    // Within the bound, a made-up key goes on to OpenSSL, which fails it as a key that does not decrypt.
    assert.throws(() => keys.unlock(pbkdf2Key(2048), 'secret', 'k', fail), /^TypeError: sdk: k could not be read: /)
  })

  it('unlock refuses a key of a modulus over 4096 bits, whose every signature would hold the event loop', () => {
    const { privateKey: big } = generateKeyPairSync('rsa', { modulusLength: 4160 })
    assert.throws(() => new PrivateKeys().unlock(big.export({ type: 'pkcs8', format: 'pem' }), undefined, 'options.credentials.private_key', fail), {
      message:
        "sdk: options.credentials.private_key is a 4160-bit rsa key; at most 4096 bits are accepted (each signature with it costs this server's event loop)",
    })
  })

  it(`unlock reads each different key once, and refuses a new one after ${MAX_KEYS_PER_INSTANCE}; one it has read is still answered`, () => {
    const keys = new PrivateKeys()
    const used = Array.from(
      { length: MAX_KEYS_PER_INSTANCE },
      () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    )
    for (const key of used) keys.unlock(key, undefined, 'k', fail)
    assert.throws(() => keys.unlock(encrypted, 'secret', 'k', fail), {
      message: `sdk: k is not accepted: this plugin has already used ${MAX_KEYS_PER_INSTANCE} different private keys, the most one plugin instance may`,
    })
    assert.equal(keys.unlock(used[3], undefined, 'k', fail), used[3])
  })
})
