import { hostKey } from './hosts-file'
import { WatchedFile } from './watched-file'

/** What getaddrinfo takes from resolv.conf besides its servers (c-ares reads those itself): the search list and ndots. */
export interface SearchRules {
  search: string[]
  ndots: number
}

/** glibc's RES_MAXNDOTS. */
const MAX_NDOTS = 15

/**
 * resolv.conf's search domains, which c-ares's queries (`dns.Resolver`) do not apply and getaddrinfo
 * does: Kubernetes names a service `redis` or `redis.cache` and relies on them (`search
 * <ns>.svc.cluster.local svc.cluster.local cluster.local`, `options ndots:5`). Read as glibc reads it:
 * the last `search` or `domain` line wins, `options ndots:N` (at most 15), and the LOCALDOMAIN and
 * RES_OPTIONS variables over the file's. Read again when it changes (watched-file.ts).
 */
export class ResolvConf {
  private readonly file: WatchedFile<SearchRules>

  constructor(path: string, recheckMs?: number, now?: () => number, env: NodeJS.ProcessEnv = process.env) {
    this.file = new WatchedFile(path, (text) => parseResolvConf(text, env), recheckMs, now)
  }

  /** The names to ask DNS for, in turn, for `hostname` (as the plugin wrote it): getaddrinfo's order. */
  candidates(hostname: string): string[] {
    return searchCandidates(hostname, this.file.current())
  }
}

/** resolv.conf's search list and ndots as glibc reads them; `env` holds LOCALDOMAIN and RES_OPTIONS (the process's, in ResolvConf). */
export function parseResolvConf(text: string, env: NodeJS.ProcessEnv = {}): SearchRules {
  const rules: SearchRules = { search: [], ndots: 1 }
  const options = (words: string[]) => {
    for (const word of words) {
      const ndots = /^ndots:(\d+)$/.exec(word)
      if (ndots) rules.ndots = Math.min(Number(ndots[1]), MAX_NDOTS)
    }
  }
  for (const line of text.split('\n')) {
    const [keyword, ...words] = line.trim().split(/\s+/)
    if (keyword === 'domain' && words.length > 0) rules.search = [words[0]]
    else if (keyword === 'search') rules.search = words.filter((w) => !w.startsWith('#') && !w.startsWith(';'))
    else if (keyword === 'options') options(words)
  }
  if (env.LOCALDOMAIN !== undefined) rules.search = env.LOCALDOMAIN.trim().split(/\s+/).filter(Boolean)
  if (env.RES_OPTIONS !== undefined) options(env.RES_OPTIONS.trim().split(/\s+/))
  rules.search = [...new Set(rules.search.map(hostKey).filter((d) => d !== ''))]
  return rules
}

/**
 * glibc's res_search order: a name ending in a dot is only itself; one with `ndots` dots or more is
 * itself first, then under each search domain; a shorter one under each search domain first, then itself.
 */
export function searchCandidates(hostname: string, rules: SearchRules): string[] {
  if (hostname.endsWith('.')) return [hostname.slice(0, -1)]
  const searched = rules.search.map((domain) => `${hostname}.${domain}`)
  const dots = hostname.split('.').length - 1
  return dots >= rules.ndots ? [hostname, ...searched] : [...searched, hostname]
}
