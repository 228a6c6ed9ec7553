import { ManagementError } from '@plugin-server/management'
import type { JobPayloadField, JobPayloadFieldType, PublicJobSpec } from './interfaces'

const TYPES: readonly JobPayloadFieldType[] = ['string', 'number', 'boolean', 'date', 'daterange', 'json']

const isDate = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Date.parse(value))

/** Null when `value` fits the type, else what was expected. */
function typeProblem(type: JobPayloadFieldType, value: unknown): string | null {
  switch (type) {
    case 'string':
      return typeof value === 'string' ? null : 'a string'
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? null : 'a number'
    case 'boolean':
      return typeof value === 'boolean' ? null : 'true or false'
    case 'date':
      return isDate(value) ? null : 'a date (ISO 8601 string)'
    case 'daterange':
      return Array.isArray(value) && value.length === 2 && isDate(value[0]) && isDate(value[1]) && Date.parse(value[0]) <= Date.parse(value[1])
        ? null
        : 'a date range: [start, end] as two ISO 8601 strings, start not after end'
    case 'json':
      return null
  }
}

const missing = (value: unknown) => value === undefined || value === null || value === ''

/**
 * Checks a payload against `plugin.json` `publicJobs` (PostHog's format:
 * `{ "<job>": { "payload": { "<field>": { "type": …, "required": true, "default": … } } } }`) and
 * returns it with defaults filled in. Without `publicJobs` any JSON payload is accepted.
 */
export function validateJobPayload(pluginName: string, publicJobs: unknown, jobName: string, payload: unknown): unknown {
  if (publicJobs === undefined || publicJobs === null) return payload
  if (typeof publicJobs !== 'object' || Array.isArray(publicJobs))
    throw new ManagementError('invalid_plugin', `plugin ${pluginName}: publicJobs in plugin.json must be an object`)
  const jobs = publicJobs as Record<string, PublicJobSpec>
  const spec = jobs[jobName]
  if (!Object.prototype.hasOwnProperty.call(jobs, jobName) || typeof spec !== 'object' || spec === null) {
    throw new ManagementError(
      'validation_error',
      `plugin ${pluginName} has no public job "${jobName}" (publicJobs: ${Object.keys(jobs).sort().join(', ') || 'none'})`,
      'jobName',
    )
  }
  const fields: Record<string, JobPayloadField> = spec.payload ?? {}
  const given = payload ?? {}
  if (typeof given !== 'object' || Array.isArray(given))
    throw new ManagementError('validation_error', `job "${jobName}": the payload must be a JSON object`, 'payload')
  const values = given as Record<string, unknown>
  // Each problem names its field, so a form can show the first one next to its input.
  const problems: { field: string; text: string }[] = []
  const problem = (key: string, text: string) => problems.push({ field: `payload.${key}`, text: `payload.${key} ${text}` })
  for (const key of Object.keys(values)) {
    if (!Object.prototype.hasOwnProperty.call(fields, key))
      problem(key, `is not a field of job "${jobName}" (fields: ${Object.keys(fields).sort().join(', ') || 'none'})`)
  }
  const result: Record<string, unknown> = { ...values }
  for (const [key, field] of Object.entries(fields)) {
    if (!TYPES.includes(field?.type)) {
      throw new ManagementError(
        'invalid_plugin',
        `plugin ${pluginName}: publicJobs.${jobName}.payload.${key} has type ${JSON.stringify(field?.type)}, expected one of ${TYPES.join(', ')}`,
      )
    }
    const value = missing(values[key]) && field.default !== undefined ? field.default : values[key]
    if (missing(value)) {
      if (field.required) problem(key, `is required (${field.type})`)
      continue
    }
    const expected = typeProblem(field.type, value)
    if (expected) problem(key, `must be ${expected}, got ${JSON.stringify(value)}`)
    result[key] = value
  }
  if (problems.length > 0) {
    const text = problems.map((p) => p.text).join('; ')
    throw new ManagementError('validation_error', `job "${jobName}" of plugin ${pluginName}: ${text}`, problems[0].field)
  }
  return result
}
