/**
 * A URL from plugin.json as a link target, or null when it is not a web page: its author is
 * anyone who can upload a plugin, and `javascript:` (or `data:`) in an href would run as this page
 * when an operator clicks it. No DOM here, so it is tested without a browser.
 */
export function webLink(url: unknown): string | null {
  if (typeof url !== 'string') return null
  try {
    const parsed = new URL(url)
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null
  } catch {
    return null
  }
}
