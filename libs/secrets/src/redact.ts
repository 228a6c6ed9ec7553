/**
 * Replaces every secret value, whatever its length, with `mark`. Where occurrences overlap (a secret
 * that contains another, or two that share characters) the whole covered stretch becomes one mark,
 * so no character of any of them is left in the text. The text is read once, so a short secret that
 * happens to be in `mark` (`e` in "[secret]") does not mark the mark again. A one-character secret
 * blanks that character out everywhere: unreadable text is the price of never showing it.
 */
export function redact(text: string, secrets: readonly string[], mark = '***'): string {
  const covered: [number, number][] = []
  for (const secret of new Set(secrets)) {
    if (secret === '') continue
    for (let at = text.indexOf(secret); at !== -1; at = text.indexOf(secret, at + 1)) covered.push([at, at + secret.length])
  }
  if (covered.length === 0) return text
  covered.sort((x, y) => x[0] - y[0] || y[1] - x[1])
  let out = ''
  let from = 0
  for (let i = 0; i < covered.length;) {
    const start = covered[i][0]
    let end = covered[i][1]
    // Overlapping occurrences are one stretch; touching ones stay one mark each ("keykey" → "******").
    for (i++; i < covered.length && covered[i][0] < end; i++) end = Math.max(end, covered[i][1])
    out += text.slice(from, start) + mark
    from = end
  }
  return out + text.slice(from)
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
