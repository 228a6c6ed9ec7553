import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { ConfigValidationInput, ManagementError, MAX_CONFIG_BYTES, MAX_CONFIG_VALUE_BYTES, validateConfig } from '@plugin-server/management'
import { BASIC, SECRET, WITH_ATTACHMENT } from './management-fixture'

const basic = JSON.parse(readFileSync(path.join(BASIC, 'plugin.json'), 'utf8'))
const withAttachment = JSON.parse(readFileSync(path.join(WITH_ATTACHMENT, 'plugin.json'), 'utf8'))

function check(given: ConfigValidationInput['given'], extra: Partial<ConfigValidationInput> = {}): Record<string, string> {
  return validateConfig({ pluginName: 'management-basic', schema: basic.config, stored: {}, given, attachmentKeys: new Set(), uploadKeys: [], ...extra })
}

function rejects(fn: () => unknown, message: string, field: string): ManagementError {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  assert.ok(caught instanceof ManagementError, `expected a ManagementError, got ${String(caught)}`)
  assert.equal(caught.message, message)
  assert.equal(caught.field, field)
  assert.equal(caught.status, 400)
  return caught
}

describe('validateConfig', () => {
  it('applies defaults and ignores markdown blocks', () => {
    assert.deepEqual(check({ apiKey: SECRET, label: 'L' }), { greeting: 'hello', mode: 'safe', apiKey: SECRET, label: 'L' })
  })

  it('refuses a missing required field, naming it and the plugin', () => {
    rejects(() => check({ apiKey: SECRET }), 'plugin "management-basic": config field "label" is required', 'label')
    rejects(() => check({ label: 'L' }), 'plugin "management-basic": config field "apiKey" is required', 'apiKey')
  })

  it('refuses an empty value for a required field', () => {
    rejects(() => check({ apiKey: SECRET, label: '' }), 'plugin "management-basic": config field "label" is required', 'label')
  })

  it('refuses a choice outside the choices and says what was given', () => {
    rejects(
      () => check({ apiKey: SECRET, label: 'L', mode: 'slow' }),
      'plugin "management-basic": config field "mode" must be one of "fast", "safe" (got "slow")',
      'mode',
    )
  })

  it('refuses a bad choice on a secret field without echoing the value', () => {
    const err = rejects(
      () => check({ apiKey: SECRET, label: 'L', region: SECRET }),
      'plugin "management-basic": config field "region" must be one of "eu", "us"',
      'region',
    )
    assert.ok(!err.message.includes(SECRET))
  })

  it('never echoes the secret in an error on another field', () => {
    const err = rejects(
      () => check({ apiKey: SECRET, mode: 'slow', label: 'L' }),
      'plugin "management-basic": config field "mode" must be one of "fast", "safe" (got "slow")',
      'mode',
    )
    assert.ok(!JSON.stringify({ ...err, message: err.message }).includes(SECRET))
  })

  describe('a json field', () => {
    const schema = [
      { key: 'mapping', type: 'json', required: true },
      { key: 'token', type: 'json', secret: true },
    ] as ConfigValidationInput['schema']
    const json = (given: ConfigValidationInput['given']) => check(given, { pluginName: 'mapper', schema })

    it('is stored and given to the plugin as the text typed, when it parses', () => {
      assert.deepEqual(json({ mapping: '{\n  "utm_source": "source"\n}' }), { mapping: '{\n  "utm_source": "source"\n}' })
    })

    it('refuses text that does not parse as JSON, naming the field and why', () => {
      assert.throws(
        () => json({ mapping: '{"a": 1,}' }),
        (err: ManagementError) => err.field === 'mapping' && /^plugin "mapper": config field "mapping" must be valid JSON \(.+\)$/.test(err.message),
      )
    })

    it('refuses bad JSON in a secret field without quoting it', () => {
      rejects(() => json({ mapping: '{}', token: '{"key": s3cr3t}' }), 'plugin "mapper": config field "token" must be valid JSON', 'token')
    })
  })

  it('refuses a field plugin.json does not have', () => {
    rejects(() => check({ apiKey: SECRET, label: 'L', nope: 'x' }), 'plugin "management-basic": config field "nope" does not exist in plugin.json', 'nope')
  })

  it('refuses a value for an attachment field and an upload for a string field', () => {
    rejects(
      () => check({ apiKey: SECRET, label: 'L', mapping: 'x' }),
      'plugin "management-basic": config field "mapping" is an attachment: upload a file instead of giving a value',
      'mapping',
    )
    rejects(
      () => check({ apiKey: SECRET, label: 'L' }, { uploadKeys: ['label'] }),
      'plugin "management-basic": config field "label" is not an attachment field',
      'label',
    )
  })

  it('keeps attachments out of the config values', () => {
    assert.equal(check({ apiKey: SECRET, label: 'L' }, { uploadKeys: ['mapping'], attachmentKeys: new Set(['mapping']) }).mapping, undefined)
  })

  it('requires a required attachment, stored or uploaded', () => {
    const input = { pluginName: 'management-attachment', schema: withAttachment.config, stored: {}, given: {}, uploadKeys: [] }
    rejects(
      () => validateConfig({ ...input, attachmentKeys: new Set() }),
      'plugin "management-attachment": config field "rules" is required: upload an attachment for it',
      'rules',
    )
    assert.deepEqual(validateConfig({ ...input, attachmentKeys: new Set(['rules']) }), {})
  })

  it('merges into stored values; null clears a field and brings its default back', () => {
    const stored = { greeting: 'hi', mode: 'fast', apiKey: SECRET, label: 'L', note: 'n' }
    assert.deepEqual(check({ note: null, greeting: null, label: 'M' }, { stored }), { greeting: 'hello', mode: 'fast', apiKey: SECRET, label: 'M' })
  })

  it('keeps an optional text field given empty, default or not, as PostHog stored it; an empty choice or secret clears it', () => {
    const stored = { greeting: 'hi', mode: 'fast', apiKey: SECRET, label: 'L', note: 'n' }
    assert.deepEqual(check({ note: '', greeting: '', mode: '', label: 'M' }, { stored }), { greeting: '', mode: 'safe', apiKey: SECRET, label: 'M', note: '' })
    assert.deepEqual(check({ apiKey: SECRET, label: 'L', greeting: '' }), { greeting: '', mode: 'safe', apiKey: SECRET, label: 'L' }, 'on create too')
  })

  it('fills in a default of "" where "" can be stored, as PostHog saved it (its Snowflake plugin reads config.bucketPath.startsWith)', () => {
    const schema = [
      { key: 'bucketPath', type: 'string', default: '' },
      { key: 'stage', type: 'choice', choices: ['S3', 'GCS'], default: '' },
      { key: 'token', type: 'string', secret: true, default: '' },
    ]
    assert.deepEqual(check({}, { schema: schema as ConfigValidationInput['schema'] }), { bucketPath: '' })
  })

  it('drops stored keys that plugin.json no longer has', () => {
    assert.deepEqual(check({}, { stored: { apiKey: SECRET, label: 'L', removed: 'x' } }), { greeting: 'hello', mode: 'safe', apiKey: SECRET, label: 'L' })
  })

  it('stores numbers and booleans as strings and refuses objects', () => {
    assert.equal(check({ apiKey: SECRET, label: 'L', note: 42 })['note'], '42')
    rejects(
      () => check({ apiKey: SECRET, label: 'L', note: { a: 1 } as unknown as string }),
      'plugin "management-basic": config field "note" must be a string',
      'note',
    )
  })

  it('caps each value at MAX_CONFIG_VALUE_BYTES (64 KiB of UTF-8), naming the field and the limit', () => {
    assert.equal(MAX_CONFIG_VALUE_BYTES, 64 * 1024)
    assert.equal(check({ apiKey: SECRET, label: 'L', note: 'x'.repeat(MAX_CONFIG_VALUE_BYTES) })['note'].length, MAX_CONFIG_VALUE_BYTES)
    rejects(
      () => check({ apiKey: SECRET, label: 'L', note: 'é'.repeat(MAX_CONFIG_VALUE_BYTES / 2 + 1) }),
      `plugin "management-basic": config field "note" is ${MAX_CONFIG_VALUE_BYTES + 2} bytes, over the limit of 65536 bytes per value (MAX_CONFIG_VALUE_BYTES); put large data in an attachment field`,
      'note',
    )
  })

  it("caps a config's values together at MAX_CONFIG_BYTES (512 KiB), naming the largest field", () => {
    assert.equal(MAX_CONFIG_BYTES, 512 * 1024)
    const schema = Array.from({ length: 9 }, (_, i) => ({ key: `mapping${i}`, type: 'string' as const }))
    const given = Object.fromEntries(schema.map((f, i) => [f.key, 'x'.repeat(i === 3 ? MAX_CONFIG_VALUE_BYTES : MAX_CONFIG_VALUE_BYTES - 10)]))
    const input = { pluginName: 'mappings', schema, stored: {}, attachmentKeys: new Set<string>(), uploadKeys: [] }
    rejects(
      () => validateConfig({ ...input, given }),
      `plugin "mappings": config values are ${9 * MAX_CONFIG_VALUE_BYTES - 80} bytes together, over the limit of 524288 bytes (MAX_CONFIG_BYTES); the largest is config field "mapping3" (65536 bytes)`,
      'mapping3',
    )
    assert.equal(Object.keys(validateConfig({ ...input, given: { ...given, mapping8: 'x' } })).length, 9)
  })

  it('refuses NUL and lone surrogates, which Postgres cannot store, naming the field', () => {
    rejects(
      () => check({ apiKey: SECRET, label: 'a\u0000b' }),
      'plugin "management-basic": config field "label" contains a NUL character (U+0000), which Postgres cannot store',
      'label',
    )
    rejects(
      () => check({ apiKey: `${SECRET}\ud83d`, label: 'L' }),
      'plugin "management-basic": config field "apiKey" contains a lone surrogate (U+D83D), which is not valid Unicode and Postgres cannot store',
      'apiKey',
    )
    assert.equal(check({ apiKey: SECRET, label: 'emoji \ud83d\ude00' })['label'], 'emoji \ud83d\ude00')
  })
})
