import { isIP } from 'net'

/**
 * The address without its zone id (`fe80::1%eth0` → `fe80::1`). Not `replace(/%.*$/, '')`: that is
 * tried from every `%` to the end and, `.` not taking a line break, a plugin's pg host of 80 000 `%`
 * then a newline held the worker's event loop for 3 s in the socket guard.
 */
export function withoutZone(address: string): string {
  const at = address.indexOf('%')
  return at === -1 ? address : address.slice(0, at)
}

/** The 16 bytes of an IPv6 address (`::`, embedded dotted IPv4 tail and zone id handled); null when not IPv6. */
export function ipv6Bytes(address: string): number[] | null {
  const text = withoutZone(address)
  if (isIP(text) !== 6) return null
  let head = text
  const tail: number[] = []
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted) {
    tail.push(...dotted[1].split('.').map(Number))
    head = text.slice(0, -dotted[1].length)
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1)
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined]
  const groups = (part: string | undefined) =>
    part
      ? part
          .split(':')
          .filter((g) => g !== '')
          .map((g) => parseInt(g, 16))
      : []
  const l = groups(left)
  const r = groups(right)
  const missing = 8 - tail.length / 2 - l.length - r.length
  const words = right === undefined ? l : [...l, ...new Array<number>(missing).fill(0), ...r]
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff])
  return [...bytes, ...tail]
}

/**
 * The IPv4 address an IPv6 address carries, for the forms that reach an IPv4 host: IPv4-mapped
 * (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:AABB:CCDD::).
 * Checking the carried address stops `[::ffff:127.0.0.1]` and friends from reaching loopback.
 */
export function embeddedIpv4(address: string): string | null {
  const b = ipv6Bytes(address)
  if (!b) return null
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0)
  const dotted = (bytes: number[]) => bytes.join('.')
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return dotted(b.slice(12))
  if (zeros(0, 12) && !zeros(12, 16)) return dotted(b.slice(12))
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return dotted(b.slice(12))
  if (b[0] === 0x20 && b[1] === 0x02) return dotted(b.slice(2, 6))
  return null
}
