import { randomBytes } from 'node:crypto'

// Made-up encrypted private keys (PKCS#8 EncryptedPrivateKeyInfo as PEM) whose key derivation asks
// for a given cost: what they hold is never reached, the derivation runs before a key is found not
// to decrypt, so a made-up key costs a server as much as a real one.

/** DER, as much as an EncryptedPrivateKeyInfo needs. */
function tlv(tag: number, body: Buffer): Buffer {
  const length: number[] = []
  for (let n = body.length; n > 0; n = Math.floor(n / 256)) length.unshift(n & 255)
  const head = body.length < 128 ? [body.length] : [0x80 | length.length, ...length]
  return Buffer.concat([Buffer.from([tag, ...head]), body])
}
const sequence = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items))
const oid = (hex: string) => tlv(0x06, Buffer.from(hex, 'hex'))
const integer = (n: number) => {
  let hex = n.toString(16)
  if (hex.length % 2) hex = '0' + hex
  if (parseInt(hex[0], 16) >= 8) hex = '00' + hex
  return tlv(0x02, Buffer.from(hex, 'hex'))
}
const octets = (bytes: number) => tlv(0x04, randomBytes(bytes))
const PBES2 = '2a864886f70d01050d'
const AES_256_CBC = sequence(oid('608648016503040102'), octets(16))
const pem = (der: Buffer) => `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END ENCRYPTED PRIVATE KEY-----\n`
/** A made-up key: what it holds is never reached, its key derivation is what costs. */
const madeUp = (algorithm: Buffer) => pem(sequence(algorithm, octets(1200)))
export const pbkdf2Key = (rounds: number) =>
  madeUp(
    sequence(
      oid(PBES2),
      sequence(
        sequence(oid('2a864886f70d01050c'), sequence(octets(16), integer(rounds), sequence(oid('2a864886f70d020b'), tlv(0x05, Buffer.alloc(0))))),
        AES_256_CBC,
      ),
    ),
  )
export const scryptKey = (n: number, r: number, p: number) =>
  madeUp(sequence(oid(PBES2), sequence(sequence(oid('2b06010401da47040b'), sequence(octets(16), integer(n), integer(r), integer(p))), AES_256_CBC)))
/** PKCS#12's pbeWithSHAAnd3-KeyTripleDES-CBC, what OpenSSL 1.0 wrote by default. */
export const pkcs12Key = (rounds: number) => madeUp(sequence(oid('2a864886f70d010c0103'), sequence(octets(8), integer(rounds))))

/** A scheme no key derivation of which this server runs (rsaEncryption is no encryption scheme at all). */
export const otherSchemeKey = () => madeUp(sequence(oid('2a864886f70d010101'), tlv(0x05, Buffer.alloc(0))))
/** Not DER at all under the encrypted key's label. */
export const unreadableKey = () => pem(randomBytes(40))
