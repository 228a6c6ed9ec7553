import { hostAsync } from './host-link'
import { bare, defineProperty, isArray, mapGet, mapSet, NativeFunction, NativeMap, objectKeys, ownPromise, parse, stringify } from './intrinsics'

/**
 * `meta.geoip.locate`, remembering the answers this isolate's plugin got, by address: the GeoIP
 * database is fixed for the process, so a later lookup of one of them is answered here, with no
 * crossing to the host (whose cost is the crossing itself: two thread hand-offs and a turn of the
 * host's busy event loop). Only this plugin's own earlier answers: nothing another config asked
 * shows here, not even as a quicker answer. At most ANSWERS addresses (a parsed City record holds
 * ~2 KB of the isolate's heap, so ~70 KB, and up to COMPILED of them compiled, ~100 KB more); when
 * full it starts again empty.
 */
const ANSWERS = 32
/**
 * Copies of one address after which its copies come from a compiled literal (see Answer.make):
 * compiling costs ~30 µs, about what this many copies by copyRecord cost, so an address asked only
 * a few times never pays for it, and one asked often (a browser's batch is one address) costs at
 * most twice what the copies alone would have.
 */
const COMPILE_AFTER = 16
/** Compiled records at most (each ~13 KB of heap: its source, bytecode and boilerplate), so ~100 KB. */
const COMPILED = 8

/** A remembered address's record. */
interface Answer {
  /** Parsed once, never handed out: each caller gets a copy. */
  record: unknown
  copies: number
  /**
   * The record's JSON text compiled as an object literal: each call builds a fresh deep copy from
   * V8's boilerplate (~0.2 µs against ~2.3 for copyRecord of a City record). undefined until
   * COMPILE_AFTER copies; null when the record cannot be a literal (see compiled).
   */
  make: (() => unknown) | null | undefined
}

let answers = new NativeMap<string, Answer>()
let remembered = 0
let compiledCount = 0

export function locate(ip: string): Promise<unknown> {
  const known = typeof ip === 'string' ? (mapGet(answers, ip) as Answer | undefined) : undefined
  if (known !== undefined) return ownPromise((resolve) => resolve(copyOf(known)))
  return hostAsync('geoip.locate', [ip], (value) => copyOf(parsedOnce(ip, value)))
}

function copyOf(answer: Answer): unknown {
  if (answer.make === undefined && ++answer.copies >= COMPILE_AFTER) {
    answer.make = compiledCount < COMPILED ? compiled(answer.record) : null
    if (answer.make !== null) compiledCount++
  }
  return typeof answer.make === 'function' ? answer.make() : copyRecord(answer.record)
}

/**
 * A function returning the record as an object literal, which evaluates as JSON.parse of the same
 * text would parse (JSON is a subset of JavaScript's syntax): plain objects and arrays whose
 * properties are defined, never assigned, so no setter a plugin put on a prototype runs. The one
 * difference is a `__proto__` key, which a literal takes as the prototype (escaped or not): a
 * record holding one anywhere is never compiled. Compiled with the Function captured before any
 * plugin code ran, from the record's JSON text: a toJSON the plugin put on Object.prototype runs in
 * that stringify, as in its own, and can change only its own later copies, still only into data.
 */
function compiled(record: unknown): (() => unknown) | null {
  if (typeof record !== 'object' || record === null || hasProtoKey(record)) return null
  try {
    return new NativeFunction('return ' + stringify(record)) as () => unknown
  } catch {
    return null
  }
}

function hasProtoKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const keys = objectKeys(value)
  for (let i = 0; i < keys.length; i++) {
    if (keys[i] === '__proto__' || hasProtoKey((value as Record<string, unknown>)[keys[i]])) return true
  }
  return false
}

/**
 * The host answers a lookup as the record's JSON text: parsing it here, on the isolate's thread,
 * spares the host's event loop a parse and a structured copy of a ~2 KB object per event. A host
 * may still answer with the object itself (test hosts, Try it), taken through JSON too. Lookups of
 * one address in one crossing share the host's answer: the first caller's decode parses it, the
 * others find it remembered.
 */
function parsedOnce(ip: unknown, value: unknown): Answer {
  const known = typeof ip === 'string' ? (mapGet(answers, ip) as Answer | undefined) : undefined
  if (known !== undefined) return known
  const answer = bare<Answer>()
  answer.record = typeof value === 'string' ? parse(value) : value === null || typeof value !== 'object' ? value : parse(stringify(value))
  answer.copies = 0
  answer.make = undefined
  if (typeof ip !== 'string' || answer.record === undefined) return answer
  if (remembered >= ANSWERS) {
    answers = new NativeMap<string, Answer>()
    remembered = 0
    compiledCount = 0
  }
  mapSet(answers, ip, answer)
  remembered++
  return answer
}

/**
 * A fresh copy of a parsed record, as JSON.parse of its text would give it (~1.7 µs against ~3.5
 * for the parse of the two-byte text): plain objects and arrays with own data properties only.
 * Object spread defines its properties (no setter a plugin put on Object.prototype runs, no
 * iterator); an own property is then replaced by plain assignment, which finds the own data
 * property first. Array elements are defined, so index setters on Array.prototype never run.
 */
function copyRecord(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (isArray(value)) {
    const copy: unknown[] = []
    for (let i = 0; i < value.length; i++) {
      const element = bare<PropertyDescriptor>()
      element.value = copyRecord(value[i])
      element.writable = element.enumerable = element.configurable = true
      defineProperty(copy, i, element)
    }
    return copy
  }
  const copy: Record<string, unknown> = { ...value }
  const keys = objectKeys(copy)
  for (let i = 0; i < keys.length; i++) {
    const inner = copy[keys[i]]
    if (typeof inner === 'object' && inner !== null) copy[keys[i]] = copyRecord(inner)
  }
  return copy
}
