/*
 * JSON text bound for a Postgres text/jsonb parameter. Postgres refuses two things clients (and
 * plugins) do send: U+0000, and UTF-16 surrogates that are not part of a pair (jsonb rejects the
 * `\ud800` escape JSON.stringify writes for them). Refusing either would fail a whole batch.
 *
 * An escape counts only when preceded by an even number of backslashes: `\\u0000` is a literal
 * backslash followed by "u0000" and stays.
 */
const NUL_ESCAPE = /(?<!\\)((?:\\\\)*)\\u0000/g
// A high surrogate escape with its low half (kept), a high one alone, or a low one alone (replaced).
const SURROGATE_ESCAPE = /(?<!\\)((?:\\\\)*)(\\u[dD][89abAB][0-9a-fA-F]{2})(\\u[dD][c-fC-F][0-9a-fA-F]{2})?|(?<!\\)((?:\\\\)*)\\u[dD][c-fC-F][0-9a-fA-F]{2}/g
const HAS_SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/

function replaceLoneSurrogates(match: string, highLead?: string, high?: string, low?: string, lowLead?: string): string {
  if (high !== undefined) return low !== undefined ? match : highLead + '\\ufffd'
  return (lowLead ?? '') + '\\ufffd'
}

/** Removes escaped U+0000 and replaces escaped lone surrogates with U+FFFD (escaped pairs stay). */
export function toPostgresJson(json: string): string {
  // Surrogates first: a NUL removed between two halves must not join them into a pair they never were.
  const paired = HAS_SURROGATE_ESCAPE.test(json) ? json.replace(SURROGATE_ESCAPE, replaceLoneSurrogates) : json
  return paired.includes('\\u0000') ? paired.replace(NUL_ESCAPE, '$1') : paired
}

/**
 * Plain text bound for a Postgres text parameter, cleaned as toPostgresJson cleans JSON: NULs removed,
 * lone surrogates U+FFFD. For text a plugin wrote (an error message) and not on a hot path.
 */
export function toPostgresText(text: string): string {
  return JSON.parse(toPostgresJson(JSON.stringify(text))) as string
}
