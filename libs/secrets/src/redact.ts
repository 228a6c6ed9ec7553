/**
 * Replaces every secret value, whatever its length, with `mark`. Where occurrences overlap (a secret
 * that contains another, or two that share characters) the whole covered stretch becomes one mark,
 * so no character of any of them is left in the text; touching ones stay one mark each ("keykey" →
 * "******"). The text is read once, so a short secret that happens to be in `mark` (`e` in
 * "[secret]") does not mark the mark again. A one-character secret blanks that character out
 * everywhere: unreadable text is the price of never showing it. Linear in the text per secret found
 * in it (every occurrence, overlapping ones too, by KMP: `indexOf` from each match is quadratic for a
 * secret that repeats itself), and the text unchanged, without allocating, when none is.
 */
export function redact(text: string, secrets: readonly string[], mark = '***'): string {
  const found = [...new Set(secrets)].filter((secret) => secret !== '' && text.includes(secret))
  if (found.length === 0) return text
  // How many occurrences start and end at each position.
  const starts = new Uint32Array(text.length + 1)
  const ends = new Uint32Array(text.length + 1)
  for (const secret of found) {
    eachOccurrence(text, secret, (at) => {
      starts[at]++
      ends[at + secret.length]++
    })
  }
  let out = ''
  let from = 0
  let open = 0
  for (let i = 0; i <= text.length; i++) {
    if (ends[i] > 0) {
      open -= ends[i]
      if (open === 0) from = i
    }
    if (starts[i] > 0) {
      if (open === 0) out += text.slice(from, i) + mark
      open += starts[i]
    }
  }
  return out + text.slice(from)
}

/** Calls `at` with the start of every occurrence of `secret` in `text`, overlapping ones too (Knuth–Morris–Pratt). */
function eachOccurrence(text: string, secret: string, at: (index: number) => void): void {
  const fallback = new Uint32Array(secret.length)
  for (let i = 1, k = 0; i < secret.length; i++) {
    const c = secret.charCodeAt(i)
    while (k > 0 && c !== secret.charCodeAt(k)) k = fallback[k - 1]
    if (c === secret.charCodeAt(k)) k++
    fallback[i] = k
  }
  for (let i = 0, k = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    while (k > 0 && c !== secret.charCodeAt(k)) k = fallback[k - 1]
    if (c === secret.charCodeAt(k)) k++
    if (k === secret.length) {
      at(i - secret.length + 1)
      k = fallback[k - 1]
    }
  }
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
