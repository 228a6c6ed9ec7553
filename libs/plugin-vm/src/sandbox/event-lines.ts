import { errorRecord, toErrorRecord } from './errors'
import { bare, isArray, objectKeys, setPrototypeOf, stringify, stringSlice } from './intrinsics'

/*
 * Each event's result is first a line: the event's JSON (an object, so it starts with `{`), `N`
 * (dropped) or `X<error json>`; the event's line is the JSON itself, so it is never copied. A batch
 * goes back to the host as one text (batchText) that keeps the returned events together, so the
 * host hands them to the next plugin as they are, and splits them only to parse each at the end:
 *
 *   <one code per event: E, N or X>
 *   <the error json of each X, one per line, in order>
 *   [<the json of each E, in order, separated by "\n,">]     (only when an event was returned)
 *
 * The last part is a JSON array, the next plugin's batch as it is; its elements still split on
 * "\n" (JSON text never holds a raw newline).
 */

export type Lines = Record<number, string>
/** The export whose output a line reports, named in its error messages. */
export type EventMethod = 'processEvent' | 'processEventBatch'

export function failLine(error: unknown): string {
  return 'X' + stringify(toErrorRecord(error))
}

export function faultLine(message: string): string {
  return 'X' + stringify(errorRecord('Error', message))
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'nothing'
  if (value === '') return 'an empty string'
  if (isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : 'a ' + typeof value
}

/**
 * The copy of a returned event. Its prototype (with nothing but `constructor` on it) has no
 * prototype: nothing the plugin puts on Object.prototype reaches it, and unlike Object.create(null)
 * its instances stay fast objects, which JSON.stringify serialises much faster.
 */
class EventFields {}
setPrototypeOf(EventFields.prototype, null)

/**
 * The returned event as the rest of the chain will see it: its own enumerable top-level fields,
 * each read once (getters and Proxy traps run here, under the isolate's limits), copied onto an
 * object without a prototype. Validated and serialised from that copy, so a getter answering
 * differently the second time or a toJSON on Object.prototype cannot change the shape. Throws what
 * a getter or trap throws.
 */
export function copyEvent(value: object): Record<string, unknown> {
  const keys = objectKeys(value)
  const copy = new EventFields() as Record<string, unknown>
  for (let i = 0; i < keys.length; i++) copy[keys[i]] = (value as Record<string, unknown>)[keys[i]]
  return copy
}

/** The line of a copied event; a toJSON of the event's own is refused. */
export function copiedEventLine(copy: Record<string, unknown>, method: EventMethod): string {
  // JSON.stringify would let it replace the whole event; a plugin returns the event's data itself.
  if (typeof copy.toJSON === 'function') return faultLine(method + ' returned an event with a toJSON method, expected the event itself')
  const name = copy.event
  if (name === undefined) return faultLine(method + ' returned an object without an "event" name, expected an event or null')
  if (typeof name !== 'string' || name === '') {
    return faultLine(method + ' returned an event whose "event" is ' + describeValue(name) + ', expected a non-empty string')
  }
  try {
    return stringify(copy)
  } catch (error) {
    return faultLine(method + ' returned an event that is not JSON-serializable: ' + toErrorRecord(error).message)
  }
}

/** What processEvent returned, as a line: falsy drops the event. */
export function eventLine(value: unknown): string {
  try {
    if (value === undefined || value === null || value === false) return 'N'
    if (typeof value !== 'object' || isArray(value)) {
      return faultLine('processEvent returned ' + (isArray(value) ? 'an array' : 'a ' + typeof value) + ', expected an event or null')
    }
    return copiedEventLine(copyEvent(value), 'processEvent')
  } catch (error) {
    return faultLine('processEvent returned an event that could not be read: ' + toErrorRecord(error).message)
  }
}

/** The batch's text (see the top of this file) from each event's line. */
export function batchText(lines: Lines, count: number): string {
  let codes = ''
  let errors = ''
  let events = ''
  let returned = 0
  for (let i = 0; i < count; i++) {
    const line = lines[i]
    const kind = line[0]
    if (kind === '{') {
      codes += 'E'
      events += (returned++ === 0 ? '\n[' : '\n,') + line
    } else {
      codes += kind
      if (kind === 'X') errors += '\n' + stringSlice(line, 1)
    }
  }
  return returned === 0 ? codes + errors : codes + errors + events + ']'
}

/** The same line for every event of a batch: a failure that belongs to no one event. */
export function sameLine(line: string, count: number): Lines {
  const lines = bare<Lines>()
  for (let i = 0; i < count; i++) lines[i] = line
  return lines
}
