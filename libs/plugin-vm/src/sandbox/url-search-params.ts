/** application/x-www-form-urlencoded list, written for the isolate (which has no web APIs). */

function formEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+')
}

function formDecode(value: string): string {
  const spaced = value.replace(/\+/g, ' ')
  try {
    return decodeURIComponent(spaced)
  } catch {
    // Malformed escapes are kept literally, as browsers do.
    return spaced.replace(/%([0-9a-fA-F]{2})/g, (m, hex: string) => {
      try {
        return decodeURIComponent('%' + hex)
      } catch {
        return m
      }
    })
  }
}

export function parseQuery(query: string): [string, string][] {
  const text = query.startsWith('?') ? query.slice(1) : query
  return text
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=')
      return eq === -1 ? [formDecode(part), ''] : [formDecode(part.slice(0, eq)), formDecode(part.slice(eq + 1))]
    })
}

type Init = string | Iterable<[string, string]> | Record<string, string> | URLSearchParams | undefined

export class URLSearchParams {
  private list: [string, string][] = []
  /** Set by URL so mutations write back to url.search. */
  onChange?: (serialized: string) => void

  constructor(init?: Init) {
    if (init === undefined || init === null) return
    if (typeof init === 'string') this.list = parseQuery(init)
    else if (typeof (init as Iterable<[string, string]>)[Symbol.iterator] === 'function') {
      for (const pair of init as Iterable<[string, string]>) {
        const [k, v] = [...pair]
        this.list.push([String(k), String(v)])
      }
    } else {
      for (const key of Object.keys(init)) this.list.push([key, String((init as Record<string, string>)[key])])
    }
  }

  private changed(): void {
    this.onChange?.(this.toString())
  }

  /** Used by URL when its search changes. */
  replaceAll(query: string): void {
    this.list = parseQuery(query)
  }

  get size(): number {
    return this.list.length
  }
  append(name: string, value: string): void {
    this.list.push([String(name), String(value)])
    this.changed()
  }
  delete(name: string): void {
    this.list = this.list.filter(([k]) => k !== String(name))
    this.changed()
  }
  get(name: string): string | null {
    const found = this.list.find(([k]) => k === String(name))
    return found ? found[1] : null
  }
  getAll(name: string): string[] {
    return this.list.filter(([k]) => k === String(name)).map(([, v]) => v)
  }
  has(name: string): boolean {
    return this.list.some(([k]) => k === String(name))
  }
  set(name: string, value: string): void {
    const key = String(name)
    const index = this.list.findIndex(([k]) => k === key)
    if (index === -1) this.list.push([key, String(value)])
    else {
      this.list[index] = [key, String(value)]
      this.list = this.list.filter(([k], i) => k !== key || i === index)
    }
    this.changed()
  }
  sort(): void {
    this.list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    this.changed()
  }
  forEach(callback: (value: string, key: string, parent: URLSearchParams) => void): void {
    for (const [k, v] of this.list) callback(v, k, this)
  }
  keys(): IterableIterator<string> {
    return this.list.map(([k]) => k)[Symbol.iterator]()
  }
  values(): IterableIterator<string> {
    return this.list.map(([, v]) => v)[Symbol.iterator]()
  }
  entries(): IterableIterator<[string, string]> {
    return this.list.map(([k, v]) => [k, v] as [string, string])[Symbol.iterator]()
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries()
  }
  toString(): string {
    return this.list.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join('&')
  }
}
