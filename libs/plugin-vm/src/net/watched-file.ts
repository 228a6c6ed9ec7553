import { readFileSync, statSync } from 'fs'

/** How often a system file is looked at again for a change: a stat, at most once a second, on the lookups' path. */
export const RECHECK_MS = 1000

/**
 * A small system file (the hosts file, resolv.conf) parsed once and again when it changes — its
 * size, modification time or inode, looked at every `recheckMs` — as the C library reads it for each
 * lookup. A file that cannot be read parses as empty, as it does for the C library.
 */
export class WatchedFile<T> {
  private value: T | undefined
  private version: string | null | undefined
  private checkedAt = -Infinity

  constructor(
    readonly path: string,
    private readonly parse: (text: string) => T,
    private readonly recheckMs = RECHECK_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  current(): T {
    const now = this.now()
    if (this.value !== undefined && now - this.checkedAt < this.recheckMs) return this.value
    this.checkedAt = now
    const version = versionOf(this.path)
    if (this.value === undefined || version !== this.version) {
      this.version = version
      this.value = this.parse(version === null ? '' : readText(this.path))
    }
    return this.value
  }
}

function versionOf(path: string): string | null {
  try {
    const stat = statSync(path)
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`
  } catch {
    return null
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}
