import { hostWork } from './host-link'
import { URLSearchParams } from './url-search-params'

/**
 * WHATWG-style URL parsing done inside the isolate: plugins parse URLs per event, and a host
 * round trip per parse would cost 100x more. Non-ASCII hosts are punycoded by the host.
 */
const SPECIAL: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443', 'ftp:': '21', 'file:': '' }

interface Parts {
  protocol: string
  username: string
  password: string
  hostname: string
  port: string
  pathname: string
  search: string
  hash: string
  opaque: boolean
}

function encodeSet(value: string, pattern: RegExp): string {
  return value.replace(pattern, (c) => encodeURIComponent(c))
}
const PATH_CHARS = /[\u0000-\u0020"<>`{}\u007f-\uffff]/g
const QUERY_CHARS = /[\u0000-\u0020"#<>\u007f-\uffff]/g
const SPECIAL_QUERY_CHARS = /[\u0000-\u0020"#'<>\u007f-\uffff]/g
const HASH_CHARS = /[\u0000-\u0020"<>`\u007f-\uffff]/g
const USER_CHARS = /[\u0000-\u0020"#<>?`{}/:;=@[\\\]^|\u007f-\uffff]/g

function removeDotSegments(path: string): string {
  const out: string[] = []
  const segments = path.split('/')
  segments.forEach((segment, i) => {
    const s = segment.toLowerCase()
    if (s === '..' || s === '.%2e' || s === '%2e.' || s === '%2e%2e') {
      if (out.length > 1) out.pop()
      if (i === segments.length - 1) out.push('')
    } else if (s === '.' || s === '%2e') {
      if (i === segments.length - 1) out.push('')
    } else out.push(segment)
  })
  return out.join('/')
}

function parseHost(host: string, special: boolean): string {
  if (host.startsWith('[')) {
    if (!/^\[[0-9a-fA-F:.]+\]$/.test(host)) throw new TypeError('Invalid URL')
    return host.toLowerCase()
  }
  let decoded = host
  try {
    decoded = decodeURIComponent(host)
  } catch {
    throw new TypeError('Invalid URL')
  }
  if (!special) return encodeSet(host, /[\u0000-\u0020\u007f-\uffff]/g)
  if (/[\u0000-\u0020#%/:<>?@[\\\]^|]/.test(decoded)) throw new TypeError('Invalid URL')

  if (/[^\u0000-\u007f]/.test(decoded)) return String(hostWork('url', ['domainToASCII', decoded], decoded.length))
  return decoded.toLowerCase()
}

function parseAuthority(parts: Parts, rest: string, special: boolean): string {
  const end = rest.search(special ? /[/?#\\]/ : /[/?#]/)
  const authority = end === -1 ? rest : rest.slice(0, end)
  const at = authority.lastIndexOf('@')
  if (at !== -1) {
    const userinfo = authority.slice(0, at)
    const colon = userinfo.indexOf(':')
    parts.username = encodeSet(colon === -1 ? userinfo : userinfo.slice(0, colon), USER_CHARS)
    parts.password = colon === -1 ? '' : encodeSet(userinfo.slice(colon + 1), USER_CHARS)
  }
  const hostPort = authority.slice(at + 1)
  const portMatch = /:(\d*)$/.exec(hostPort.startsWith('[') ? hostPort.slice(hostPort.indexOf(']')) : hostPort)
  const host = portMatch ? hostPort.slice(0, hostPort.length - portMatch[0].length) : hostPort
  if (portMatch && portMatch[1] !== '') {
    const port = Number(portMatch[1])
    if (port > 65535) throw new TypeError('Invalid URL')
    parts.port = String(port) === SPECIAL[parts.protocol] ? '' : String(port)
  } else if (!portMatch && /:/.test(host.replace(/^\[.*\]$/, ''))) throw new TypeError('Invalid URL')
  if (special && host === '' && parts.protocol !== 'file:') throw new TypeError('Invalid URL')
  parts.hostname = parseHost(host, special)
  return end === -1 ? '' : rest.slice(end)
}

function splitTail(parts: Parts, rest: string, special: boolean): void {
  const hashAt = rest.indexOf('#')
  if (hashAt !== -1) {
    parts.hash = hashAt === rest.length - 1 ? '' : '#' + encodeSet(rest.slice(hashAt + 1), HASH_CHARS)
    rest = rest.slice(0, hashAt)
  }
  const queryAt = rest.indexOf('?')
  if (queryAt !== -1) {
    const query = rest.slice(queryAt + 1)
    parts.search = query === '' ? '' : '?' + encodeSet(query, special ? SPECIAL_QUERY_CHARS : QUERY_CHARS)
    rest = rest.slice(0, queryAt)
  }
  if (parts.opaque) parts.pathname = encodeSet(rest, /[\u0000-\u001f\u007f-\uffff]/g)
  else {
    const path = special ? rest.replace(/\\/g, '/') : rest
    const absolute = path.startsWith('/') ? path : '/' + path
    parts.pathname = encodeSet(removeDotSegments(absolute), PATH_CHARS)
    if (!special && rest === '') parts.pathname = ''
  }
}

function emptyParts(protocol: string): Parts {
  return { protocol, username: '', password: '', hostname: '', port: '', pathname: '', search: '', hash: '', opaque: false }
}

function resolveRelative(input: string, base: Parts): Parts {
  const special = base.protocol in SPECIAL
  const parts: Parts = { ...base, search: '', hash: '' }
  const slashed = special ? input.replace(/\\/g, '/') : input
  if (slashed.startsWith('//')) {
    const fresh = emptyParts(base.protocol)
    splitTail(fresh, parseAuthority(fresh, slashed.slice(2), special), special)
    return fresh
  }
  if (base.opaque) {
    if (!input.startsWith('#')) throw new TypeError('Invalid URL')
    splitTail(parts, base.pathname + base.search + input, special)
    return parts
  }
  if (input === '') return { ...base, hash: '' }
  if (input.startsWith('#')) return { ...base, hash: input === '#' ? '' : '#' + encodeSet(input.slice(1), HASH_CHARS) }
  if (input.startsWith('?')) {
    splitTail(parts, base.pathname + input, special)
    return parts
  }
  const dir = slashed.startsWith('/') ? '' : base.pathname.slice(0, base.pathname.lastIndexOf('/') + 1)
  splitTail(parts, dir + slashed, special)
  return parts
}

/**
 * Without leading and trailing C0 controls and spaces, as the URL standard says. A loop: the regex
 * `[\u0000-\u0020]+$` is tried from every one of a run, and an event's `$current_url` of 160 000
 * spaces then a letter (anyone with a project's token can send one) took a plugin's `new URL` 8 s.
 */
function trimControls(raw: string): string {
  let start = 0
  let end = raw.length
  while (start < end && raw.charCodeAt(start) <= 0x20) start++
  while (end > start && raw.charCodeAt(end - 1) <= 0x20) end--
  return raw.slice(start, end)
}

export function parseUrl(raw: string, base?: Parts): Parts {
  const input = trimControls(raw).replace(/[\t\n\r]/g, '')
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/s.exec(input)
  if (!scheme) {
    if (!base) throw new TypeError(`Invalid URL: ${raw}`)
    return resolveRelative(input, base)
  }
  const protocol = scheme[1].toLowerCase() + ':'
  const special = protocol in SPECIAL
  let rest = scheme[2]
  if (special && base && base.protocol === protocol && !/^[/\\]/.test(rest)) return resolveRelative(rest, base)
  const parts = emptyParts(protocol)
  if (protocol === 'file:') {
    rest = rest.replace(/\\/g, '/')
    splitTail(parts, rest.startsWith('//') ? parseAuthority(parts, rest.slice(2), true) : rest, true)
  } else if (special) {
    rest = rest.replace(/^[/\\]*/, '')
    splitTail(parts, parseAuthority(parts, rest, true), true)
  } else if (rest.startsWith('//')) {
    splitTail(parts, parseAuthority(parts, rest.slice(2), false), false)
  } else {
    parts.opaque = !rest.startsWith('/')
    splitTail(parts, rest, false)
  }
  return parts
}

export type { Parts as UrlParts }
export { SPECIAL as SPECIAL_SCHEMES, URLSearchParams }
