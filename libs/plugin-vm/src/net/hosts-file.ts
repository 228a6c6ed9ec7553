import type { LookupAddress } from 'dns'
import { isIP } from 'net'
import { WatchedFile } from './watched-file'

/**
 * The hosts file, read as getaddrinfo reads it before it asks DNS (nsswitch's `hosts: files dns`, the
 * default of Debian, Alpine and the Node images): an entry there, such as one Kubernetes writes for a
 * pod's `hostAliases`, overrides what DNS has for the name. c-ares (name-resolver.ts) reads no hosts
 * file, so the resolver asks this first. Read again when it changes (watched-file.ts).
 */
export class HostsFile {
  private readonly file: WatchedFile<Map<string, LookupAddress[]>>

  constructor(path: string, recheckMs?: number, now?: () => number) {
    this.file = new WatchedFile(path, parseHosts, recheckMs, now)
  }

  /**
   * The file's addresses for `name` (hostKey'd) of `family` (4, 6, or 0 for both, in the file's
   * order), or undefined when it has none of that family: getaddrinfo then asks DNS, and so does the resolver.
   */
  addresses(name: string, family: number): LookupAddress[] | undefined {
    const all = this.file.current().get(name)
    const wanted = family === 0 ? all : all?.filter((a) => a.family === family)
    // Copies: what a lookup answers is the caller's.
    return wanted && wanted.length > 0 ? wanted.map((a) => ({ ...a })) : undefined
  }
}

/** Names compare as DNS compares them: case-insensitive, a trailing dot (the root) or none the same. */
export function hostKey(name: string): string {
  const lower = name.toLowerCase()
  return lower.endsWith('.') ? lower.slice(0, -1) : lower
}

/** `address name [aliases…]` per line, `#` to the end of a line a comment; a line whose address is not one is skipped. */
export function parseHosts(text: string): Map<string, LookupAddress[]> {
  const entries = new Map<string, LookupAddress[]>()
  for (const line of text.split('\n')) {
    const [address, ...names] = line.replace(/#.*/, '').trim().split(/\s+/)
    const family = isIP(address)
    if (family === 0) continue
    for (const name of names) {
      const key = hostKey(name)
      const known = entries.get(key)
      if (!known) entries.set(key, [{ address, family }])
      else if (!known.some((a) => a.address === address)) known.push({ address, family })
    }
  }
  return entries
}
