/**
 * Where a paged list goes on: the target of its answer's `Link: <…>; rel="next"`, or null on its last
 * page. The UI sends its token with every page, so a link to another origin is refused rather than
 * followed (the token would go with it); and a link back to a page already read, or one on a page
 * without rows, would make the list go round for ever, its rows joined again each time, so those are
 * refused too. Each refusal names the page and what was wrong with its link.
 */
export function nextPage(link: string | null, current: string, origin: string, seen: ReadonlySet<string>, rows: number): string | null {
  const target = /<([^>]*)>\s*;\s*rel="?next"?/.exec(link ?? '')?.[1]
  if (target === undefined) return null
  let url: URL
  try {
    url = new URL(target, new URL(current, origin))
  } catch {
    throw new Error(`GET ${current}: its Link rel="next" (${JSON.stringify(target)}) is not a URL`)
  }
  if (url.origin !== new URL(origin).origin) throw new Error(`GET ${current}: its Link rel="next" leads to another origin (${url.origin}); not followed`)
  const next = `${url.pathname}${url.search}`
  if (rows === 0) throw new Error(`GET ${current}: a page without rows links to a next one (${next}); not followed`)
  if (seen.has(next)) throw new Error(`GET ${current}: its Link rel="next" leads back to a page already read (${next})`)
  return next
}
