import type { PayloadFieldSpec } from '../../api/types'
import { localInputToIso } from '../../lib/format'

export class PayloadError extends Error {
  constructor(
    readonly key: string | null,
    message: string,
  ) {
    super(message)
  }
}

/** The typed payload from the text of each input; empty optional keys are left out. */
export function buildPayload(schema: Record<string, PayloadFieldSpec>, values: Record<string, string>): Record<string, unknown> {
  const payload: Record<string, unknown> = {}
  for (const [key, spec] of Object.entries(schema)) {
    const text = (values[key] ?? '').trim()
    if (spec.type === 'boolean') {
      payload[key] = text === 'true'
      continue
    }
    if (text === '') {
      if (spec.required) throw new PayloadError(key, `${key} is required`)
      continue
    }
    if (spec.type === 'number') {
      const n = Number(text)
      if (!Number.isFinite(n)) throw new PayloadError(key, `${key} must be a number`)
      payload[key] = n
    } else if (spec.type === 'date') {
      payload[key] = localInputToIso(text) ?? text
    } else if (spec.type === 'json' || spec.type === 'object' || spec.type === 'array') {
      payload[key] = parseJson(text, key)
    } else {
      payload[key] = text
    }
  }
  return payload
}

export function parseJson(text: string, key: string | null): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new PayloadError(key, `${key ?? 'payload'} is not valid JSON: ${(err as Error).message}`)
  }
}

/** The payload typed as JSON when the job declares no schema. */
export function payloadFromJson(text: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return undefined
  const value = parseJson(text, null)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PayloadError(null, 'the payload must be a JSON object')
  return value as Record<string, unknown>
}
