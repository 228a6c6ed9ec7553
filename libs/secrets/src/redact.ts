/**
 * The texts a secret becomes where plugins and the libraries they call write it: itself; inside a
 * JSON string (`console.log(meta.config)`, an error of `JSON.stringify(body)`), once or twice
 * escaped; percent-encoded in a URL's path or query (`encodeURI`, `encodeURIComponent`, a form's
 * `URLSearchParams`). A secret with a quote, a backslash, a line break (a PEM key, a service
 * account's JSON in a field) or a `+`, `/`, `=` (base64) is none of these but itself. The longest
 * one bounds what a cut text must keep past its cut to find every form whole (log-writer).
 */
export function secretForms(secrets: readonly string[]): readonly string[] {
  const cached = formsOf.get(secrets)
  if (cached) return cached
  const forms = new Set<string>()
  for (const secret of secrets) {
    if (secret === '') continue
    const json = JSON.stringify(secret).slice(1, -1)
    forms.add(secret).add(json).add(JSON.stringify(json).slice(1, -1))
    forms.add(new URLSearchParams([['', secret]]).toString().slice(1))
    try {
      forms.add(encodeURIComponent(secret)).add(encodeURI(secret))
    } catch {
      // A lone surrogate has no percent-encoding: no URL carries it that way.
    }
  }
  const list = [...forms]
  formsOf.set(secrets, list)
  return list
}

/** Callers pass the same list of a config's secrets for each text (its log target): its forms are worked out once. */
const formsOf = new WeakMap<readonly string[], readonly string[]>()

/**
 * Replaces every secret value, in each of its `secretForms`, whatever its length, with `mark`. Where occurrences overlap (a secret
 * that contains another, or two that share characters) the whole covered stretch becomes one mark,
 * so no character of any of them is left in the text; touching ones stay one mark each ("keykey" →
 * "******"). The text is read once, so a short secret that happens to be in `mark` (`e` in
 * "[secret]") does not mark the mark again. A one-character secret blanks that character out
 * everywhere: unreadable text is the price of never showing it. Linear in the text per secret found
 * in it (every occurrence, overlapping ones too, by KMP: `indexOf` from each match is quadratic for a
 * secret that repeats itself), and the text unchanged, without allocating, when none is.
 */
export function redact(text: string, secrets: readonly string[], mark = '***'): string {
  const found = secretForms(secrets).filter((secret) => text.includes(secret))
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

/**
 * `redact(text, secrets, mark).slice(0, max)`, reading only as much of `text` as that needs (a
 * plugin's error can carry 50 MB). A secret across the end of what is read is not found whole: it
 * lies in the last characters read, fewer than the longest form, which stay at the end of what
 * `redact` returns (a mark shortens only what is before it). So the cut must fall before those:
 * when marks have shortened the text so far that it would not, more is read (twice as much each time).
 */
export function redactCut(text: string, secrets: readonly string[], max: number, mark = '***'): string {
  let longest = 0
  for (const form of secretForms(secrets)) longest = Math.max(longest, form.length)
  for (let read = max + longest; ; read *= 2) {
    if (read >= text.length) return redact(text, secrets, mark).slice(0, max)
    const redacted = redact(text.slice(0, read), secrets, mark)
    if (redacted.length - (longest - 1) >= max) return redacted.slice(0, max)
  }
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

/**
 * `redact` over an error's own text properties, in place: its message and stack, and what a class
 * adds (a PluginError's `pluginMessage`, `pluginStack`), which pino's error serializer and BullMQ's
 * failure reason show as they are. For an error a plugin's message is in, on its way out of the
 * code that knows the config's secrets. Returns `err`.
 */
export function redactError<E>(err: E, secrets: readonly string[]): E {
  if (!(err instanceof Error) || secrets.length === 0) return err
  const fields = err as unknown as Record<string, unknown>
  for (const key of Object.getOwnPropertyNames(err)) {
    const value = fields[key]
    if (typeof value !== 'string') continue
    try {
      fields[key] = redact(value, secrets)
    } catch {
      // A read-only property: left as it is, the error still goes on.
    }
  }
  return err
}
