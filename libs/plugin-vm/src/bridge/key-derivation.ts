/**
 * Rounds of a password-based key derivation a plugin's encrypted key may ask for (PBKDF2, PKCS#5 v1
 * and PKCS#12 PBE): 100 000 rounds of HMAC-SHA512 are ~50 ms of the host's event loop here, and
 * OpenSSL writes keys with 2 048 (`openssl pkcs8 -topk8`, Snowflake's documented command).
 */
export const MAX_KDF_ITERATIONS = 100_000
/** scrypt's N × r × p: OpenSSL's own `-scrypt` default (16 384 × 8 × 1), ~50 ms and 16 MB. */
export const MAX_SCRYPT_WORK = 16_384 * 8

const OID = {
  pbes2: '2a864886f70d01050d',
  pbkdf2: '2a864886f70d01050c',
  scrypt: '2b06010401da47040b',
}
/** PKCS#5 v1 (pbeWithMD2/MD5/SHA1And…: .1, .3, .4, .6, .10, .11) and PKCS#12 (pbeWithSHAAnd…: 12.1.1–6) schemes: salt and iterations. */
const SIMPLE_PBE = /^(2a864886f70d0105(01|03|04|06|0a|0b)|2a864886f70d010c010[1-6])$/

interface Node {
  tag: number
  body: Buffer
}

/** The DER elements of `der` in order, or null when it is not DER this reader follows. */
function children(der: Buffer): Node[] | null {
  const nodes: Node[] = []
  let at = 0
  while (at < der.length) {
    if (at + 2 > der.length) return null
    const tag = der[at]
    let length = der[at + 1]
    at += 2
    if (length & 0x80) {
      const bytes = length & 0x7f
      if (bytes === 0 || bytes > 4 || at + bytes > der.length) return null
      length = 0
      for (let i = 0; i < bytes; i++) length = length * 256 + der[at + i]
      at += bytes
    }
    if (at + length > der.length) return null
    nodes.push({ tag, body: der.subarray(at, at + length) })
    at += length
  }
  return nodes
}

/** The elements inside a SEQUENCE (tag 0x30), or null. */
function sequence(node: Node | undefined): Node[] | null {
  return node?.tag === 0x30 ? children(node.body) : null
}

/** A non-negative INTEGER's value (Infinity past 2^48), or null. */
function integer(node: Node | undefined): number | null {
  if (node?.tag !== 0x02 || node.body.length === 0 || node.body[0] & 0x80) return null
  let value = 0
  for (const byte of node.body) value = value * 256 + byte
  return value > 2 ** 48 ? Infinity : value
}

/**
 * Why the key derivation of a PKCS#8 EncryptedPrivateKeyInfo costs more than this server pays to
 * decrypt it, or null when it does not. Read before anything decrypts the key: the cost is paid
 * before a wrong passphrase or a broken key is noticed, so a made-up key is as costly as a real one.
 */
export function keyDerivationProblem(der: Buffer): string | null {
  const algorithm = sequence(sequence(children(der)?.[0])?.[0])
  const oid = algorithm?.[0]?.tag === 0x06 ? algorithm[0].body.toString('hex') : undefined
  if (!algorithm || oid === undefined) return 'its encryption could not be read (not PKCS#8 EncryptedPrivateKeyInfo)'
  if (SIMPLE_PBE.test(oid)) return rounds(integer(sequence(algorithm[1])?.[1]))
  if (oid !== OID.pbes2) return `it is encrypted with a scheme this server does not decrypt (OID ${oid})`
  const kdf = sequence(sequence(algorithm[1])?.[0])
  const kdfOid = kdf?.[0]?.tag === 0x06 ? kdf[0].body.toString('hex') : undefined
  const params = sequence(kdf?.[1])
  if (kdfOid === OID.pbkdf2) return rounds(integer(params?.[1]))
  if (kdfOid === OID.scrypt) {
    const [n, r, p] = [integer(params?.[1]), integer(params?.[2]), integer(params?.[3])]
    if (n === null || r === null || p === null) return 'its scrypt parameters could not be read'
    const work = n * r * p
    return work > MAX_SCRYPT_WORK ? `its key derivation is scrypt with N × r × p = ${work}; at most ${MAX_SCRYPT_WORK} are accepted` : null
  }
  return `its key derivation is one this server does not run (OID ${kdfOid ?? 'unreadable'})`
}

function rounds(iterations: number | null): string | null {
  if (iterations === null) return 'its key derivation could not be read'
  return iterations > MAX_KDF_ITERATIONS
    ? `its key derivation asks for ${iterations} rounds; at most ${MAX_KDF_ITERATIONS} are accepted (re-encrypt it with fewer, e.g. openssl pkcs8 -topk8 -iter 2048)`
    : null
}
