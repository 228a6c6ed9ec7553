import { toErrorRecord } from './errors'
import { copiedEventLine, copyEvent, describeValue, failLine, faultLine, Lines, sameLine } from './event-lines'
import { bare, hasOwn, isArray, mapGet, mapSet, NativeMap, ownPromise, stringify, stringSlice } from './intrinsics'
import { isThenable, whenSettled } from './settle'

/*
 * A plugin exporting processEventBatch(events, meta) instead of processEvent: one call per batch,
 * and the array it returns replaces the batch. Each returned event is matched to an input event,
 * so results still come back per input event (see ./event-lines) and the host blames, drops and
 * keeps per event as for processEvent: the input object itself when the plugin returns it (changed
 * in place, its uuid too), else the input with the same uuid, read before the plugin ran; else, in
 * an array with an entry for every event (`events.map(...)`), the input at the same index, so a
 * plugin can give events new uuids as PostHog let it (the host takes a valid one). An input event
 * nothing was returned for is dropped. Returning something the batch cannot be rebuilt from (not
 * an array, more entries than events, an event matching no input or one already returned) fails
 * the call for every event of the batch: they are kept as they were and the plugin is blamed, so a
 * changed uuid can never drop or duplicate an event.
 */

type Fn = (...args: unknown[]) => unknown

/** Input events by key, in order; `used` counts those already matched by a returned event. */
type Queue = Record<number, number> & { count: number; used: number }
/** The batch's events as given: by uuid key, and by the objects themselves (Maps used only through methods captured before plugin code ran, see ./intrinsics). */
interface Inputs {
  byUuid: Map<unknown, Queue>
  byObject: Map<unknown, number>
}

/** Events without a string uuid (sample events of a dry run) share one key and match in order. */
const NO_UUID = bare<object>()

function keyOf(uuid: unknown): unknown {
  return typeof uuid === 'string' && uuid !== '' ? uuid : NO_UUID
}

/** Own fields only: the plugin may have put a `uuid` getter on Object.prototype. */
function inputKeys(events: unknown[]): Inputs {
  const inputs: Inputs = { byUuid: new NativeMap(), byObject: new NativeMap() }
  for (let i = 0; i < events.length; i++) {
    const event = events[i]
    const isEvent = typeof event === 'object' && event !== null
    if (isEvent) mapSet(inputs.byObject, event, i)
    const key = isEvent && hasOwn(event, 'uuid') ? keyOf((event as { uuid?: unknown }).uuid) : NO_UUID
    let queue = mapGet(inputs.byUuid, key) as Queue | undefined
    if (queue === undefined) {
      queue = bare<Queue>()
      queue.count = 0
      queue.used = 0
      mapSet(inputs.byUuid, key, queue)
    }
    queue[queue.count] = i
    queue.count++
  }
  return inputs
}

function shownUuid(uuid: unknown): string {
  return typeof uuid === 'string' && uuid !== '' ? 'with uuid ' + stringify(stringSlice(uuid, 0, 100)) : 'without a uuid'
}

const NOT_ADDED =
  'processEventBatch can change (uuid included) and drop the events it is given, not add events (posthog.capture sends new events); ' +
  'an event given a new uuid must be the object it was given, or at its own index of an array with an entry for every event'

/**
 * The input a returned event stands for: the object itself, its uuid's next unmatched input, or the
 * same index of a full-length array (also for a uuid whose inputs are all matched); -1 for none.
 */
function inputOf(item: object, uuid: unknown, j: number, inputs: Inputs, lines: Lines, full: boolean): number {
  const own = mapGet(inputs.byObject, item) as number | undefined
  if (own !== undefined) return own
  const queue = mapGet(inputs.byUuid, keyOf(uuid)) as Queue | undefined
  if (queue !== undefined) {
    // Inputs returned as themselves (above) are already matched.
    while (queue.used < queue.count && lines[queue[queue.used]] !== undefined) queue.used++
    if (queue.used < queue.count) return queue[queue.used++]
    // Every input of that uuid is matched: another event given its uuid (duplicates given the first's).
    return full && lines[j] === undefined ? j : queue[queue.count - 1]
  }
  return full ? j : -1
}

/** One line per input event from what processEventBatch returned; a structural fault fails them all. */
function matchedLines(value: unknown, inputs: Inputs, count: number): Lines {
  const fault = (message: string) => sameLine(faultLine(message), count)
  try {
    if (!isArray(value)) return fault('processEventBatch returned ' + describeValue(value) + ', expected an array of events')
    // Read once: a Proxy's trap could answer differently each time.
    const length = (value as unknown[]).length
    if (typeof length !== 'number' || !(length >= 0) || length % 1 !== 0) return fault('processEventBatch returned an array without a valid length')
    if (length > count) return fault('processEventBatch returned ' + length + ' entries for a batch of ' + count + ' events: ' + NOT_ADDED)
    const lines = bare<Lines>()
    for (let j = 0; j < length; j++) {
      const item = (value as unknown[])[j]
      if (item === undefined || item === null || item === false) continue
      if (typeof item !== 'object' || isArray(item)) {
        return fault('processEventBatch returned ' + describeValue(item) + ' at index ' + j + ', expected an event or null')
      }
      const copy = copyEvent(item)
      const uuid = copy.uuid
      const i = inputOf(item, uuid, j, inputs, lines, length === count)
      if (i < 0) return fault('processEventBatch returned an event ' + shownUuid(uuid) + ' at index ' + j + ' that is not in the batch: ' + NOT_ADDED)
      if (lines[i] !== undefined) {
        return fault('processEventBatch returned the event ' + shownUuid(uuid) + ' more often than the batch holds it (again at index ' + j + ')')
      }
      lines[i] = copiedEventLine(copy, 'processEventBatch')
    }
    for (let i = 0; i < count; i++) if (lines[i] === undefined) lines[i] = 'N'
    return lines
  } catch (error) {
    return fault('processEventBatch returned events that could not be read: ' + toErrorRecord(error).message)
  }
}

/**
 * Runs processEventBatch over `events` (parsed by the runtime, so its own) under the caller's limits;
 * `encode` turns the per-event lines into what the caller answers the host.
 */
export function runBatchExport(fn: Fn, events: unknown[], meta: unknown, encode: (lines: Lines) => string): string | Promise<string> {
  const count = events.length
  const inputs = inputKeys(events)
  let result: unknown
  try {
    result = fn(events, meta)
    if (!isThenable(result)) return encode(matchedLines(result, inputs, count))
  } catch (error) {
    return encode(sameLine(failLine(error), count))
  }
  return ownPromise(
    (resolve) =>
      void whenSettled(
        result,
        (v) => resolve(encode(matchedLines(v, inputs, count))),
        (e) => resolve(encode(sameLine(failLine(e), count))),
      ),
  )
}

/** A one-event batch's line as a call envelope: `call('processEvent')` on a processEventBatch plugin. */
export function lineEnvelope(line: string): string {
  const kind = line[0]
  if (kind === '{') return '{"ok":true,"value":' + line + '}'
  if (kind === 'N') return '{"ok":true,"value":null}'
  return '{"ok":false,"error":' + stringSlice(line, 1) + '}'
}
