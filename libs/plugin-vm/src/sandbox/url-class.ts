import { parseUrl, SPECIAL_SCHEMES, UrlParts, URLSearchParams } from './url'

/** The URL global; state lives in plain parts so setters can re-parse with the same rules. */
export class URL {
  private parts: UrlParts
  private params: URLSearchParams

  constructor(input: string | URL, base?: string | URL) {
    const baseParts = base === undefined ? undefined : parseUrl(String(base))
    this.parts = parseUrl(String(input), baseParts)
    this.params = new URLSearchParams(this.parts.search)
    this.params.onChange = (query) => {
      this.parts.search = query === '' ? '' : '?' + query
    }
  }

  static canParse(input: string, base?: string): boolean {
    try {
      new URL(input, base)
      return true
    } catch {
      return false
    }
  }

  private reparse(href: string): void {
    this.parts = parseUrl(href)
    this.params.replaceAll(this.parts.search)
  }

  get protocol(): string {
    return this.parts.protocol
  }
  set protocol(value: string) {
    const text = String(value)
    // Up to the first colon; not replace(/:.*$/, ''), tried from every colon to the end.
    const colon = text.indexOf(':')
    const scheme = (colon === -1 ? text : text.slice(0, colon)).toLowerCase() + ':'
    if (scheme in SPECIAL_SCHEMES === this.parts.protocol in SPECIAL_SCHEMES) {
      this.reparse(scheme + this.href.slice(this.parts.protocol.length))
    }
  }
  get username(): string {
    return this.parts.username
  }
  set username(value: string) {
    this.parts.username = encodeURIComponent(String(value))
  }
  get password(): string {
    return this.parts.password
  }
  set password(value: string) {
    this.parts.password = encodeURIComponent(String(value))
  }
  get hostname(): string {
    return this.parts.hostname
  }
  set hostname(value: string) {
    this.reparse(`${this.parts.protocol}//${this.auth()}${String(value)}${this.parts.port ? ':' + this.parts.port : ''}${this.tail()}`)
  }
  get host(): string {
    return this.parts.port ? `${this.parts.hostname}:${this.parts.port}` : this.parts.hostname
  }
  set host(value: string) {
    this.reparse(`${this.parts.protocol}//${this.auth()}${String(value)}${this.tail()}`)
  }
  get port(): string {
    return this.parts.port
  }
  set port(value: string) {
    this.reparse(`${this.parts.protocol}//${this.auth()}${this.parts.hostname}:${String(value)}${this.tail()}`)
  }
  get pathname(): string {
    return this.parts.pathname
  }
  set pathname(value: string) {
    const path = String(value)
    this.reparse(
      `${this.origin === 'null' ? this.parts.protocol : this.prefix()}${path.startsWith('/') ? path : '/' + path}${this.parts.search}${this.parts.hash}`,
    )
  }
  get search(): string {
    return this.parts.search
  }
  set search(value: string) {
    const query = String(value).replace(/^\?/, '')
    this.reparse(`${this.prefix()}${this.parts.pathname}${query ? '?' + query : ''}${this.parts.hash}`)
  }
  get searchParams(): URLSearchParams {
    return this.params
  }
  get hash(): string {
    return this.parts.hash
  }
  set hash(value: string) {
    const fragment = String(value).replace(/^#/, '')
    this.reparse(`${this.prefix()}${this.parts.pathname}${this.parts.search}${fragment ? '#' + fragment : ''}`)
  }
  get origin(): string {
    const p = this.parts.protocol
    return p in SPECIAL_SCHEMES && p !== 'file:' ? `${p}//${this.host}` : 'null'
  }
  get href(): string {
    return `${this.prefix()}${this.parts.pathname}${this.parts.search}${this.parts.hash}`
  }
  set href(value: string) {
    this.reparse(String(value))
  }

  private auth(): string {
    const { username, password } = this.parts
    return username || password ? `${username}${password ? ':' + password : ''}@` : ''
  }
  private tail(): string {
    return `${this.parts.pathname}${this.parts.search}${this.parts.hash}`
  }
  private prefix(): string {
    const hasAuthority = this.parts.protocol in SPECIAL_SCHEMES || this.parts.hostname !== '' || (!this.parts.opaque && this.parts.pathname.startsWith('//'))
    if (this.parts.opaque || (!hasAuthority && !(this.parts.protocol in SPECIAL_SCHEMES))) return this.parts.protocol
    return `${this.parts.protocol}//${this.auth()}${this.host}`
  }

  toString(): string {
    return this.href
  }
  toJSON(): string {
    return this.href
  }
}
