import type { IncomingMessage } from 'node:http'

export interface KeysetPage<T> {
  body: T[]
  headers: Record<string, string>
}

/**
 * One page of a list in key order, from `limit + 1` rows read: the extra row only says that a next
 * page exists, so a list that fits answers without a Link (as before pagination) and a full last
 * page is not followed by an empty one. The next page is this request again with `after` moved to
 * the page's last key, in `Link: <…>; rel="next"` (RFC 8288), so the body stays the plain array
 * older clients read.
 */
export function keysetPage<T>(req: IncomingMessage, query: URLSearchParams, rows: T[], limit: number, keyOf: (row: T) => string): KeysetPage<T> {
  if (rows.length <= limit) return { body: rows, headers: {} }
  const body = rows.slice(0, limit)
  const next = new URLSearchParams(query)
  next.set('after', keyOf(body[body.length - 1]))
  const path = new URL(req.url ?? '/', 'http://admin.invalid').pathname
  return { body, headers: { Link: `<${path}?${next.toString()}>; rel="next"` } }
}
