import type { LookupAddress } from 'dns'
import { readFileSync, statSync } from 'fs'
import { isIP } from 'net'

/** How often the file is looked at again for a change: a stat, at most once a second, on the lookups' path. */
export const HOSTS_RECHECK_MS = 1000

/**
 * The hosts file, read as getaddrinfo reads it before it asks DNS (nsswitch's `hosts: files dns`, the
 * default of Debian, Alpine and the Node images): an entry there, such as one Kubernetes writes for a
 * pod's `hostAliases`, overrides what DNS has for the name. c-ares (name-resolver.ts) reads no hosts
 * file, so the resolver asks this first. Parsed once, and again when the file changes (its size,
 * modification time or inode, looked at every HOSTS_RECHECK_MS); a file that cannot be read has no
 * entries, as for getaddrinfo.
 */
export class HostsFile {
  private entries = new Map<string, LookupAddress[]>()
  private version: string | undefined
  private checkedAt = -Infinity

  constructor(
    readonly path: string,
    private readonly recheckMs = HOSTS_RECHECK_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * The file's addresses for `name` (hostKey'd) of `family` (4, 6, or 0 for both, in the file's order), or
   * undefined when it has none of that family: getaddrinfo then asks DNS, and so does the resolver.
   */
  addresses(name: string, family: number): LookupAddress[] | undefined {
    this.refresh()
    const all = this.entries.get(name)
    const wanted = family === 0 ? all : all?.filter((a) => a.family === family)
    // Copies: what a lookup answers is the caller's.
    return wanted && wanted.length > 0 ? wanted.map((a) => ({ ...a })) : undefined
  }

  private refresh(): void {
    const now = this.now()
    if (now - this.checkedAt < this.recheckMs) return
    this.checkedAt = now
    let version: string | null
    try {
      const stat = statSync(this.path)
      version = `${stat.ino}:${stat.size}:${stat.mtimeMs}`
    } catch {
      version = null
    }
    if (version === this.version) return
    this.version = version ?? undefined
    let text = ''
    try {
      if (version !== null) text = readFileSync(this.path, 'utf8')
    } catch {
      text = ''
    }
    this.entries = parseHosts(text)
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
