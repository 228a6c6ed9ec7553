/**
 * The bytes of a form field (`a=1&data=...`, a urlencoded body or a query string) with its
 * percent-escapes undone, or null when the field is absent; the first of repeated fields, as
 * URLSearchParams.get. URLSearchParams would decode the escapes as UTF-8 and replace invalid
 * sequences (`%FF`) with U+FFFD: the caller decodes these bytes strictly instead.
 */
export function formFieldBytes(form: Buffer | string, name: string): Buffer | null {
  // latin1: one character per byte, so bytes that are not ASCII pass through unchanged.
  const text = typeof form === 'string' ? form : form.toString('latin1')
  for (const pair of text.split('&')) {
    const eq = pair.indexOf('=')
    const key = eq < 0 ? pair : pair.slice(0, eq)
    if (percentDecode(key).toString('utf8') === name) return percentDecode(eq < 0 ? '' : pair.slice(eq + 1))
  }
  return null
}

const HEX = /^[0-9a-fA-F]{2}$/

function percentDecode(text: string): Buffer {
  if (!text.includes('%') && !text.includes('+')) return Buffer.from(text, 'latin1')
  const out = Buffer.allocUnsafe(text.length)
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x25 && HEX.test(text.slice(i + 1, i + 3))) {
      out[n++] = Number.parseInt(text.slice(i + 1, i + 3), 16)
      i += 2
    } else out[n++] = c === 0x2b ? 0x20 : c
  }
  return out.subarray(0, n)
}
