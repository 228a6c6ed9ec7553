import { parseAttachmentInputs, unstorableText } from '@plugin-server/management'
import type { AttachmentInput, ConfigInputValue } from '@plugin-server/management'
import { POSTGRES_INT_MAX } from '@plugin-server/db'
import { HttpError } from './interfaces'

/** Ids and integers the API passes on are Postgres `integer`s: a larger one would reach Postgres and fail there (a 500). */
const MAX_INT = POSTGRES_INT_MAX

function invalid(field: string, problem: string): HttpError {
  return new HttpError(400, 'validation_error', `${field} ${problem}`, field)
}

/** A request string Postgres can store (see unstorableText); anything else would come back from a query as a 500. */
export function storableString(field: string, value: string): string {
  const problem = unstorableText(value)
  if (problem) throw invalid(field, problem)
  return value
}

/** Every path parameter and query value of a request, checked once before any route reads them. */
export function assertStorableRequest(params: Record<string, string>, query: URLSearchParams): void {
  for (const [name, value] of Object.entries(params)) storableString(name, value)
  for (const [name, value] of query) storableString(name, value)
}

/** A path parameter that is an id: `field` is the parameter's name in the route (`teamId`, `id`), what a client's error handling reads. */
export function idParam(value: string, what: string, field: string): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) < 1 || Number(value) > MAX_INT)
    throw new HttpError(400, 'validation_error', `${what} id must be an integer from 1 to ${MAX_INT} (got ${JSON.stringify(value)})`, field)
  return Number(value)
}

/** An integer within ±`max` (Postgres' integer by default), or undefined when absent. */
export function optionalInt(body: Record<string, unknown>, key: string, max = MAX_INT): number | undefined {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) > max) throw invalid(key, `must be an integer from ${-max} to ${max}`)
  return value
}

/**
 * The most ids one request may list: as many dead letters as one list shows, and more configs than
 * a team has plugins to configure. A longer list would only make the queries and the answer large.
 */
export const MAX_IDS = 1000

/** An array of at most MAX_IDS positive integer ids, or undefined when absent. */
export function idList(body: Record<string, unknown>, key: string): number[] | undefined {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  if (Array.isArray(value) && value.length > MAX_IDS) throw invalid(key, `must list at most ${MAX_IDS} ids (got ${value.length})`)
  if (!Array.isArray(value) || !value.every((id) => typeof id === 'number' && Number.isInteger(id) && id > 0 && id <= MAX_INT))
    throw invalid(key, `must be an array of ids (integers from 1 to ${MAX_INT})`)
  return value as number[]
}

/** A `?key=` integer within [min, max], or `fallback` when absent. */
export function intQueryParam(query: URLSearchParams, key: string, fallback: number, min: number, max: number): number {
  const value = query.get(key)
  if (value === null || value === '') return fallback
  if (!/^\d{1,10}$/.test(value) || Number(value) < min || Number(value) > max) throw invalid(key, `must be an integer from ${min} to ${max}`)
  return Number(value)
}

/** Three states: absent (undefined), null (cleared), or a positive integer; `pinned_version: null` unpins. */
export function optionalNullableId(body: Record<string, unknown>, key: string): number | null | undefined {
  if (!Object.hasOwn(body, key)) return undefined
  const value = body[key]
  if (value === null) return null
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_INT)
    throw invalid(key, `must be an integer from 1 to ${MAX_INT}, or null`)
  return value
}

export function optionalBool(body: Record<string, unknown>, key: string): boolean | undefined {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'boolean') throw invalid(key, 'must be true or false')
  return value
}

export function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw invalid(key, 'must be a string')
  return storableString(key, value)
}

/** Values are never echoed: any of them may be a secret. */
export function configValues(body: Record<string, unknown>): Record<string, ConfigInputValue> | undefined {
  const value = body.config
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('config', 'must be an object of field key to value')
  const config: Record<string, ConfigInputValue> = {}
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw invalid(`config.${key}`, 'must be a string')
    config[key] = v as ConfigInputValue
  }
  return config
}

/** `attachments: { key: { file_name, content_type?, contents_base64 } }`, so a config needing one can be created in one request. */
export function attachmentValues(body: Record<string, unknown>): AttachmentInput[] | undefined {
  const value = body.attachments
  if (value === undefined || value === null) return undefined
  return parseAttachmentInputs(value)
}
