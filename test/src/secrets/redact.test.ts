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

  it('replaces a secret shorter than 4 characters too, revealing none of its characters', () => {
    assert.equal(redact('the cat sat', ['cat']), 'the *** sat')
    assert.equal(redact('key=a7', ['a7'], '[secret]'), 'key=[secret]')
    assert.equal(redact('x=1, y=2', ['1']), 'x=***, y=2')
  })

  it('leaves no character of overlapping secrets, and does not mark the mark again', () => {
    // Replacing the longer one first left "Zb" of the other behind.
    assert.equal(redact('aXYZb!', ['aXY', 'XYZb']), '***!')
    assert.equal(redact('aaa', ['aa']), '***')
    // A secret that repeats itself: every occurrence, the overlapping ones too, is found.
    assert.equal(redact('x abababab y', ['abab']), 'x *** y')
    assert.equal(redact('aaaa-aaa', ['aaa']), '***-***')
    // "e" is in "[secret]": replacing secret by secret marked the first mark again.
    assert.equal(redact('key abcd, e', ['abcd', 'e'], '[secret]'), 'k[secret]y [secret], [secret]')
  })

  it('keeps one mark per occurrence of a secret repeated back to back', () => {
    assert.equal(redact('s3cret-keys3cret-key', ['s3cret-key']), '******')
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
