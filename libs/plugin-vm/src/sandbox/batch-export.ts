import { toErrorRecord } from './errors'
import { copiedEventLine, copyEvent, describeValue, failLine, faultLine, Lines, sameLine } from './event-lines'
import { bare, hasOwn, isArray, mapGet, mapSet, NativeMap, ownPromise, stringify, stringSlice } from './intrinsics'
import { isThenable, whenSettled } from './settle'

/*
 * A plugin exporting processEventBatch(events, meta) instead of processEvent: one call per batch,
 * and the array it returns replaces the batch. Each returned event is matched to the input event
 * with the same uuid, read before the plugin ran (it may change the inputs in place), so results
 * still come back per input event (see ./event-lines) and the host blames, drops and keeps per event as
 * for processEvent. An input event nothing was returned for is dropped. Returning something the
 * batch cannot be rebuilt from (not an array, more entries than events, an event whose uuid is not
 * the batch's or was already returned) fails the call for every event of the batch: they are kept
 * as they were and the plugin is blamed, so a changed uuid can never drop or duplicate an event.
 */

type Fn = (...args: unknown[]) => unknown

/** Input events by key, in order; `used` counts those already matched by a returned event. */
type Queue = Record<number, number> & { count: number; used: number }
/** A Map used only through methods captured before plugin code ran (see ./intrinsics). */
type Inputs = Map<unknown, Queue>

/** Events without a string uuid (sample events of a dry run) share one key and match in order. */
const NO_UUID = bare<object>()

function keyOf(uuid: unknown): unknown {
  return typeof uuid === 'string' && uuid !== '' ? uuid : NO_UUID
}

/** Own fields only: the plugin may have put a `uuid` getter on Object.prototype. */
function inputKeys(events: unknown[]): Inputs {
  const inputs: Inputs = new NativeMap()
  for (let i = 0; i < events.length; i++) {
    const event = events[i]
    const key = typeof event === 'object' && event !== null && hasOwn(event, 'uuid') ? keyOf((event as { uuid?: unknown }).uuid) : NO_UUID
    let queue = mapGet(inputs, key) as Queue | undefined
    if (queue === undefined) {
      queue = bare<Queue>()
      queue.count = 0
      queue.used = 0
      mapSet(inputs, key, queue)
    }
    queue[queue.count] = i
    queue.count++
  }
  return inputs
}

function shownUuid(uuid: unknown): string {
  return typeof uuid === 'string' && uuid !== '' ? 'with uuid ' + stringify(stringSlice(uuid, 0, 100)) : 'without a uuid'
}

const NOT_ADDED = 'processEventBatch can change and drop the events it is given, not add events or change their uuid (posthog.capture sends new events)'

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
      const queue = mapGet(inputs, keyOf(uuid)) as Queue | undefined
      if (queue === undefined)
        return fault('processEventBatch returned an event ' + shownUuid(uuid) + ' at index ' + j + ' that is not in the batch: ' + NOT_ADDED)
      if (queue.used === queue.count) {
        return fault('processEventBatch returned the event ' + shownUuid(uuid) + ' more often than the batch holds it (again at index ' + j + ')')
      }
      lines[queue[queue.used]] = copiedEventLine(copy, 'processEventBatch')
      queue.used++
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
