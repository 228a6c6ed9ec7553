/**
 * Replaces every secret value (of 4 characters or more) with `mark`. Longest first: a secret that
 * contains another is replaced whole, rather than leaving its other characters in the text.
 */
export function redact(text: string, secrets: readonly string[], mark = '***'): string {
  let out = text
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) if (secret.length >= 4 && out.includes(secret)) out = out.split(secret).join(mark)
  return out
}
