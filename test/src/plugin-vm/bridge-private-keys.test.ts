import assert from 'node:assert/strict'
import { generateKeyPairSync, verify } from 'node:crypto'
import { pbkdf2Key } from '../harness/encrypted-keys'
import { startFakeSnowflake } from '../harness/snowflake-server'
import { loadCode } from './helpers'

/** The header and claims of a JWT whose RS256 signature `publicKey` verifies, or an error. */
function verifiedClaims(token: string, publicKey: Parameters<typeof verify>[2]): Record<string, unknown> {
  const [header, claims, signature] = token.split('.')
  if (!verify('sha256', Buffer.from(`${header}.${claims}`), publicKey, Buffer.from(signature, 'base64url'))) throw new Error('the JWT does not verify')
  return JSON.parse(Buffer.from(claims, 'base64url').toString()) as Record<string, unknown>
}

/**
 * Private keys a plugin hands bridged SDKs are read on the host, whose event loop every team's
 * plugins share: their key derivation is bounded before anything decrypts them (bridge/private-keys.ts).
 */
describe('plugin-vm: private keys given to bridged SDKs (snowflake-sdk, pg, Google)', function () {
  this.timeout(60_000)
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const encrypted = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pass phrase' }) as string

  it('snowflake-sdk logs in with an encrypted key pair (SNOWFLAKE_JWT, privateKeyPass), on a connection and through a pool', async () => {
    const fake = await startFakeSnowflake()
    const { instance } = await loadCode(`
      import * as snowflake from 'snowflake-sdk'
      const options = { account: 'acct', username: 'u', accessUrl: '${fake.url}', authenticator: 'SNOWFLAKE_JWT', privateKey: ${JSON.stringify(encrypted)}, privateKeyPass: 'pass phrase' }
      export async function runEveryMinute() {
        const connection = snowflake.createConnection(options)
        await new Promise((resolve, reject) => connection.connect((err) => (err ? reject(err) : resolve())))
        const pool = snowflake.createPool(options, { max: 1 })
        const rows = await new Promise((resolve, reject) =>
          pool.acquire().then((c) => c.execute({ sqlText: 'SELECT 1', complete: (err, stmt, rows) => (pool.release(c), err ? reject(err) : resolve(rows)) })))
        await new Promise((resolve) => connection.destroy(resolve))
        await pool.drain()
        return rows
      }`)
    try {
      assert.deepEqual(await instance.call('runEveryMinute', []), [{ N: 7 }])
      assert.equal(fake.loginTokens.length, 2, 'a login for the connection and one for the pool’s')
      for (const token of fake.loginTokens) assert.match(String(verifiedClaims(token, publicKey).iss), /^ACCT\.U\.SHA256:/)
    } finally {
      instance.dispose()
      await fake.close()
    }
  })

  it('refuses a key whose key derivation asks for 2^31 rounds when the connection is made, before anything decrypts it (snowflake-sdk, pg)', async () => {
    const costly = pbkdf2Key(2 ** 31 - 1)
    const { instance } = await loadCode(`
      import * as snowflake from 'snowflake-sdk'
      import { Client } from 'pg'
      const attempt = (f) => { try { f(); return 'made' } catch (e) { return e.message } }
      export function runEveryMinute() {
        const key = ${JSON.stringify(costly)}
        return [
          attempt(() => snowflake.createConnection({ account: 'a', username: 'u', authenticator: 'SNOWFLAKE_JWT', privateKey: key, privateKeyPass: 'x' })),
          attempt(() => snowflake.createPool({ account: 'a', username: 'u', authenticator: 'SNOWFLAKE_JWT', privateKey: key, privateKeyPass: 'x' }, {})),
          attempt(() => new Client({ host: '127.0.0.1', ssl: { key, passphrase: 'x' } })),
          attempt(() => new Client({ host: '127.0.0.1', ssl: { key: [{ pem: key, passphrase: 'x' }] } })),
        ]
      }`)
    try {
      const rounds =
        'its key derivation asks for 2147483647 rounds; at most 100000 are accepted (re-encrypt it with fewer, e.g. openssl pkcs8 -topk8 -iter 2048)'
      assert.deepEqual(await instance.call('runEveryMinute', []), [
        `snowflake-sdk.createConnection: option "privateKey" is not accepted: ${rounds}`,
        `snowflake-sdk.createPool: option "privateKey" is not accepted: ${rounds}`,
        `pg: new Client: config key "ssl.key" is not accepted: ${rounds}`,
        `pg: new Client: config key "ssl.key[0].pem" is not accepted: ${rounds}`,
      ])
    } finally {
      instance.dispose()
    }
  })

  it('refuses a Google service account key of more than 4096 bits, which every token request would sign with', async () => {
    const { privateKey: big } = generateKeyPairSync('rsa', { modulusLength: 4160 })
    const credentials = { type: 'service_account', client_email: 'sa@p.iam.gserviceaccount.com', private_key: big.export({ type: 'pkcs8', format: 'pem' }) }
    const { instance } = await loadCode(`
      import { BigQuery } from '@google-cloud/bigquery'
      export function runEveryMinute() {
        try { new BigQuery({ projectId: 'p', credentials: ${JSON.stringify(credentials)} }); return 'made' } catch (e) { return e.message }
      }`)
    try {
      assert.equal(
        await instance.call('runEveryMinute', []),
        "@google-cloud/bigquery: new BigQuery: options.credentials.private_key is a 4160-bit rsa key; at most 4096 bits are accepted (each signature with it costs this server's event loop)",
      )
    } finally {
      instance.dispose()
    }
  })
})
