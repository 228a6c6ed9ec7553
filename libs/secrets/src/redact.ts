/**
 * Replaces every secret value (of 4 characters or more) with `mark`. Longest first: a secret that
 * contains another is replaced whole, rather than leaving its other characters in the text.
 */
export function redact(text: string, secrets: readonly string[], mark = '***'): string {
  let out = text
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) if (secret.length >= 4 && out.includes(secret)) out = out.split(secret).join(mark)
  return out
}

/**
 * `redact` over every string of a JSON value (keys included), leaving its shape alone: replacing
 * in the value's JSON text instead would miss escaped secrets and could cut across its syntax.
 */
export function redactValue(value: unknown, secrets: readonly string[], mark = '***'): unknown {
  if (typeof value === 'string') return redact(value, secrets, mark)
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secrets, mark))
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [redact(key, secrets, mark), redactValue(item, secrets, mark)]))
}
