import { projectTokenProblem } from '@plugin-server/core'
import { CaptureError } from './capture-error'
import { ExtractedEvents, JsonObject } from './interfaces'
import { isJsonObject } from './is-json-object'

/**
 * One request resolves to exactly one project token, so the server does a single team lookup.
 * Precedence (first present wins, later sources are not consulted):
 *   1. `api_key` / `token` on a `batch`/`data` wrapper in the body (posthog-node),
 *   2. `?token=` / `?api_key=` in the query string,
 *   3. per event: `token`, `$token`, `api_key`, then `properties.token` (posthog-js).
 * Per-event tokens must agree: a batch that mixes projects is rejected with 400 rather than
 * split, because clients never send that and a split would need one lookup per token. Events
 * without a token take the token of the others.
 */
export function resolveToken(extracted: ExtractedEvents, query: URLSearchParams): string {
  if (extracted.requestToken !== undefined && extracted.requestToken !== null) {
    return validateToken(extracted.requestToken, 'body')
  }
  const queryToken = query.get('token') ?? query.get('api_key')
  if (queryToken !== null) return validateToken(queryToken, 'query string')

  let found: { token: string; index: number } | null = null
  for (const [index, event] of extracted.events.entries()) {
    const raw = eventToken(event)
    if (raw === undefined || raw === null) continue
    const token = validateToken(raw, `event at index ${index}`)
    if (found === null) found = { token, index }
    else if (found.token !== token) {
      throw new CaptureError(
        400,
        'multiple_tokens',
        `events carry different api tokens: event at index ${index} does not match event at index ${found.index}`,
        'token',
      )
    }
  }
  if (found === null) throw missingToken()
  return found.token
}

function eventToken(event: JsonObject): unknown {
  const properties = isJsonObject(event.properties) ? event.properties : {}
  return event.token ?? event.$token ?? event.api_key ?? properties.token
}

/** A well-formed token no team has: the same answer from every endpoint. */
export function unknownToken(): CaptureError {
  return new CaptureError(401, 'invalid_token', 'unknown api token: no team has this project API key', 'api_key')
}

export function missingToken(): CaptureError {
  return new CaptureError(
    401,
    'missing_token',
    'missing api token: set "api_key" or "token" in the body or query string, or "token" in the event properties',
    'token',
  )
}

/** Shape checks only, after PostHog capture's `validate_token`; whether the team exists is the server's call. */
export function validateToken(raw: unknown, where: string): string {
  if (typeof raw !== 'string') throw new CaptureError(401, 'invalid_token', `invalid api token in ${where}: not a string`, 'token')
  // A stray newline from a copy-pasted key should not lose events.
  const token = raw.trim()
  if (token === '') throw missingToken()
  const problem = projectTokenProblem(token)
  if (problem) throw new CaptureError(401, 'invalid_token', `invalid api token in ${where}: ${problem}`, 'token')
  return token
}
