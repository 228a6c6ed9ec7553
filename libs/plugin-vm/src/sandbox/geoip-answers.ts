import { hostAsync } from './host-link'
import { mapGet, mapSet, NativeMap, ownPromise, parse, stringify } from './intrinsics'

/**
 * `meta.geoip.locate`, remembering the answers this isolate's plugin got, by address: the GeoIP
 * database is fixed for the process, so a later lookup of one of them is answered here, with no
 * crossing to the host (whose cost is the crossing itself: two thread hand-offs and a turn of the
 * host's busy event loop). Only this plugin's own earlier answers: nothing another config asked
 * shows here, not even as a quicker answer. At most ANSWERS addresses (the host's text is ~1.3 K
 * two-byte characters each, so ~80 KB); when full it starts again empty.
 */
const ANSWERS = 32

let answers = new NativeMap<string, unknown>()
let remembered = 0

export function locate(ip: string): Promise<unknown> {
  const known = typeof ip === 'string' ? mapGet(answers, ip) : undefined
  if (known !== undefined) return ownPromise((resolve) => resolve(geoipRecord(known)))
  return hostAsync('geoip.locate', [ip], (value) => {
    remember(ip, value)
    return geoipRecord(value)
  })
}

function remember(ip: unknown, value: unknown): void {
  if (typeof ip !== 'string' || value === undefined || mapGet(answers, ip) !== undefined) return
  if (remembered >= ANSWERS) {
    answers = new NativeMap<string, unknown>()
    remembered = 0
  }
  mapSet(answers, ip, value)
  remembered++
}

/**
 * The host answers a lookup as the record's JSON text: parsing it here, on the isolate's thread,
 * spares the host's event loop a parse and a structured copy of a ~2 KB object per event.
 * A host may still answer with the object itself (test hosts, Try it). Either way each call gets
 * an object of its own: lookups of one address in one crossing share the host's answer, and a
 * remembered answer is never handed out itself.
 */
function geoipRecord(value: unknown): unknown {
  if (typeof value === 'string') return parse(value)
  return value === null || typeof value !== 'object' ? value : parse(stringify(value))
}
