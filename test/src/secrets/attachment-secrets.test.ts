import assert from 'node:assert/strict'
import { attachmentSecrets } from '@plugin-server/secrets'

describe('attachmentSecrets (secret attachment fields, scrubbed like secret values)', () => {
  const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----\n'

  it("takes a service account key's private_key (whole and each long line) and private_key_id, not its URLs, type or email", () => {
    const key = {
      type: 'service_account',
      project_id: 'my-project',
      private_key_id: 'a1b2c3d4e5f6a7b8c9d0',
      private_key: PEM,
      client_email: 'exporter@my-project.iam.gserviceaccount.com',
      token_uri: 'https://oauth2.googleapis.com/token',
    }
    const secrets = attachmentSecrets(Buffer.from(JSON.stringify(key)))
    assert.deepEqual(
      secrets.sort(),
      [
        '-----BEGIN PRIVATE KEY-----',
        '-----END PRIVATE KEY-----',
        'BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj',
        'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
        PEM,
        'a1b2c3d4e5f6a7b8c9d0',
      ].sort(),
    )
  })

  it('takes the whole text of a file that is not JSON, and its long lines; every long string of a JSON file with no secret-looking key', () => {
    assert.ok(attachmentSecrets(Buffer.from(PEM)).includes(PEM.trim()))
    assert.deepEqual(attachmentSecrets(Buffer.from(JSON.stringify({ account: 'acme', dsn: 'user:pa55word@warehouse.example:5439' }))), [
      'user:pa55word@warehouse.example:5439',
    ])
  })

  it('takes the key of a credentials file carrying a 70 KB certificate bundle, and at most 64 strings, the longest', () => {
    const bundle = Array.from({ length: 1100 }, (_, i) => `CERTLINE${String(i).padStart(56, '0')}`).join('\n')
    const secrets = attachmentSecrets(Buffer.from(JSON.stringify({ private_key: PEM, ca_bundle: bundle, password: bundle })))
    assert.equal(secrets.length, 64)
    assert.equal(secrets[0], bundle, 'the longest first')
    assert.ok(attachmentSecrets(Buffer.from(JSON.stringify({ private_key: PEM, ca_bundle: bundle }))).includes(PEM))
  })

  it('takes nothing from an empty file, short values or a file too large to be a credentials file', () => {
    assert.deepEqual(attachmentSecrets(Buffer.alloc(0)), [])
    assert.deepEqual(attachmentSecrets(Buffer.from(JSON.stringify({ password: 'short' }))), [])
    assert.deepEqual(attachmentSecrets(Buffer.alloc(1024 * 1024, 'a')), [])
  })
})
