import assert from 'node:assert/strict'
import { redact, redactCut, redactValue } from '@plugin-server/secrets'

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

  it('replaces a secret written inside a JSON string (once or twice escaped), or percent-encoded in a URL or a form', () => {
    const password = 'pa"ss\\w0rd'
    assert.equal(redact(`config ${JSON.stringify({ apiKey: password })}`, [password]), 'config {"apiKey":"***"}')
    assert.equal(redact(JSON.stringify({ body: JSON.stringify({ apiKey: password }) }), [password]), '{"body":"{\\"apiKey\\":\\"***\\"}"}')
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n'
    assert.equal(redact(`bad key ${JSON.stringify({ private_key: pem })}`, [pem]), 'bad key {"private_key":"***"}')
    const key = 'AbC+/dEf== x'
    assert.equal(redact(`GET https://h/p?key=${encodeURIComponent(key)}`, [key]), 'GET https://h/p?key=***')
    assert.equal(redact(`GET https://h/${encodeURI(key)}`, [key]), 'GET https://h/***')
    assert.equal(redact(`body ${new URLSearchParams({ key }).toString()}`, [key]), 'body key=***')
    // A lone surrogate has no percent-encoding: its other forms are still found.
    assert.equal(redact(`x ${JSON.stringify('\ud800"k')}`, ['\ud800"k']), 'x "***"')
  })

  describe('redactCut', () => {
    it('keeps the first characters up to the cut, with a secret across the cut taken out whole', () => {
      const secret = 'sk_live_0123456789'
      assert.equal(redactCut('x'.repeat(95) + secret + 'y'.repeat(1000), [secret], 100), 'x'.repeat(95) + '***' + 'yy')
    })

    it('shows no part of a secret that marks before it bring past the cut', () => {
      // Read to 100 + 40 characters: the marks (40 → 3) brought the 40th secret's cut start into the kept 100.
      const secret = 'sk_live_0123456789abcdefghijklmnopqrstuv'
      const kept = redactCut('x' + secret.repeat(300), [secret], 100)
      assert.equal(kept, 'x' + '***'.repeat(33))
      assert.equal(redactCut('x' + secret.repeat(300) + 'tail', [secret], 10_000), 'x' + '***'.repeat(300) + 'tail')
    })
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
