/** Keys of a JSON credentials file whose values are secrets: `private_key`, `private_key_id`, `client_secret`, `refresh_token`, `password`… (not `token_uri`). */
const SECRET_KEY = /(^|_)(private_key|key|secret|password|passphrase|token|credentials?)(_id)?$/i
/** Shorter values are not worth blanking wherever they appear (`type`, a short id). */
const MIN_CHARS = 8
/** A line of a key this long is a secret of its own: a plugin may log one line of a PEM block. */
const MIN_LINE_CHARS = 16
/** Larger files are not looked into: credentials files are a few KB. */
const MAX_BYTES = 256 * 1024
/**
 * At most this many strings, the longest first: each is looked for, in each of its forms, in every
 * line the config's plugin logs (a key file's lines are about 30).
 */
const MAX_SECRETS = 64

/**
 * The strings of a secret attachment (a plugin.json attachment field marked `secret`, such as a
 * Google service account's JSON key) that must never be logged: in a JSON file, the values of
 * secret-looking keys; in any other text file, the whole text; and each line of those of 16
 * characters or more. An attachment is not a config value, so these were scrubbed nowhere: a plugin
 * logging its key file or an error quoting the key's `private_key` showed it whole.
 */
export function attachmentSecrets(contents: Uint8Array): string[] {
  if (contents.byteLength === 0 || contents.byteLength > MAX_BYTES) return []
  const text = new TextDecoder('utf-8', { fatal: false }).decode(contents)
  let values: string[]
  try {
    const parsed = JSON.parse(text) as unknown
    values = secretValuesIn(parsed)
    // A secret file none of whose keys looks secret: all of it is, as its field says.
    if (values.length === 0) values = stringsIn(parsed).filter((value) => value.length >= MIN_LINE_CHARS)
  } catch {
    values = [text.trim()]
  }
  const secrets = new Set<string>()
  for (const value of values) {
    if (value.length < MIN_CHARS) continue
    secrets.add(value)
    for (const line of value.split(/\r?\n/)) if (line.trim().length >= MIN_LINE_CHARS) secrets.add(line.trim())
  }
  return [...secrets].sort((a, b) => b.length - a.length).slice(0, MAX_SECRETS)
}

/** The strings under secret-looking keys (an array's items under its own key). */
function secretValuesIn(value: unknown, key = '', depth = 0): string[] {
  if (depth > 16 || value === null || typeof value !== 'object') return typeof value === 'string' && SECRET_KEY.test(key) ? [value] : []
  return Object.entries(value).flatMap(([k, v]) => secretValuesIn(v, Array.isArray(value) ? key : k, depth + 1))
}

function stringsIn(value: unknown, depth = 0): string[] {
  if (depth > 16 || value === null || typeof value !== 'object') return typeof value === 'string' ? [value] : []
  return Object.values(value).flatMap((v) => stringsIn(v, depth + 1))
}
