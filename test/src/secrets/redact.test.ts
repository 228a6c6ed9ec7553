import assert from 'node:assert/strict'
import { redact, redactValue } from '@plugin-server/secrets'

describe('redact', () => {
  it('replaces every occurrence of each secret with the mark', () => {
    assert.equal(redact('key=s3cret-key, again s3cret-key', ['s3cret-key']), 'key=***, again ***')
    assert.equal(redact('key=s3cret-key', ['s3cret-key'], '[secret]'), 'key=[secret]')
  })

  it('replaces a secret that contains another one whole, whatever the order they are given in', () => {
    assert.equal(redact('token abcd-efgh-ijkl', ['abcd', 'abcd-efgh-ijkl']), 'token ***')
    assert.equal(redact('token abcd-efgh-ijkl and abcd', ['abcd', 'abcd-efgh-ijkl']), 'token *** and ***')
  })

  it('leaves values shorter than 4 characters alone, since they would blank out ordinary words', () => {
    assert.equal(redact('the cat sat', ['cat']), 'the cat sat')
  })

  describe('redactValue', () => {
    it('replaces secrets in every string and key of a JSON value, quotes and backslashes included', () => {
      const secret = 'a"b\\c-d'
      assert.deepEqual(redactValue({ [secret]: [`key ${secret}`, 2, null, { nested: secret }] }, [secret]), { '***': ['key ***', 2, null, { nested: '***' }] })
    })

    it('keeps the value valid when a secret could span its JSON syntax', () => {
      assert.deepEqual(redactValue({ a: true, b: 'true,"b"' }, ['true,"b"']), { a: true, b: '***' })
    })
  })
})
