/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/**
 * Why Postgres would refuse this text, or null. jsonb and text columns cannot hold U+0000, and a
 * lone UTF-16 surrogate has no UTF-8 form: written as they are, both come back as a raw database
 * error (22P05, a 500) instead of a refusal naming the field.
 */
export function unstorableText(text: string): string | null {
  if (text.includes('\u0000')) return 'contains a NUL character (U+0000), which Postgres cannot store'
  const lone = LONE_SURROGATE.exec(text)
  if (lone) return `contains a lone surrogate (U+${lone[0].charCodeAt(0).toString(16).toUpperCase()}), which is not valid Unicode and Postgres cannot store`
  return null
}
