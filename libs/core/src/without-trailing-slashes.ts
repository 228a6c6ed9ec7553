/**
 * A URL path without its trailing slashes, `/` for one of slashes only. A loop, not
 * `replace(/\/+$/, '')`: that regex is tried from every slash of a run and takes time in the
 * square of its length, and a request target of 16 000 slashes then a letter held capture's event
 * loop for 80 ms, every request, before any check.
 */
export function withoutTrailingSlashes(path: string): string {
  let end = path.length
  while (end > 0 && path.charCodeAt(end - 1) === 47 /* / */) end--
  return end === 0 ? '/' : path.slice(0, end)
}
