import assert from 'node:assert/strict'
import { validateJobPayload } from '@plugin-server/scheduling'

const PUBLIC_JOBS = {
  'Export events': {
    payload: {
      label: { type: 'string', required: true },
      count: { type: 'number' },
      dryRun: { type: 'boolean', default: false },
      since: { type: 'date' },
      period: { type: 'daterange' },
      extra: { type: 'json' },
    },
  },
  noPayload: {},
}

describe('validateJobPayload (publicJobs in plugin.json)', () => {
  it('accepts any payload when the plugin declares no publicJobs', () => {
    assert.deepEqual(validateJobPayload('p', undefined, 'anything', [1, 2]), [1, 2])
  })

  it('accepts a payload matching every field type and fills in defaults', () => {
    const payload = { label: 'x', count: 3, since: '2024-01-01', period: ['2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z'], extra: { a: [1] } }
    assert.deepEqual(validateJobPayload('p', PUBLIC_JOBS, 'Export events', payload), { ...payload, dryRun: false })
    assert.deepEqual(validateJobPayload('p', PUBLIC_JOBS, 'noPayload', {}), {})
  })

  it('refuses a job not in publicJobs, naming the public ones', () => {
    assert.throws(() => validateJobPayload('p', PUBLIC_JOBS, 'secret', {}), /plugin p has no public job "secret" \(publicJobs: Export events, noPayload\)/)
  })

  it('names every problem: missing required field, wrong types, unknown field, bad date range', () => {
    assert.throws(
      () => validateJobPayload('p', PUBLIC_JOBS, 'Export events', { count: '3', dryRun: 'yes', since: 'soon', period: ['2024-02-01', '2024-01-01'], typo: 1 }),
      (err: Error) => {
        for (const part of [
          'payload.typo is not a field',
          'payload.label is required (string)',
          'payload.count must be a number, got "3"',
          'payload.dryRun must be true or false',
          'payload.since must be a date',
          'payload.period must be a date range',
        ])
          assert.ok(err.message.includes(part), `${part} in: ${err.message}`)
        return true
      },
    )
    assert.throws(() => validateJobPayload('p', PUBLIC_JOBS, 'Export events', 'text'), /payload must be a JSON object/)
  })

  it('refuses a publicJobs field of an unknown type as a plugin problem', () => {
    assert.throws(() => validateJobPayload('p', { j: { payload: { f: { type: 'color' } } } }, 'j', {}), /publicJobs.j.payload.f has type "color"/)
  })
})
