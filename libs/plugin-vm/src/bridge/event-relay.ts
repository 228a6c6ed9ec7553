import type { EventEmitter } from 'events'
import { Args } from './args'
import { Callback } from './callback'
import type { Member } from './facade'

interface Listener {
  callback: Callback
  once: boolean
}

/** Turns an SDK event's arguments into what the plugin's listener gets (e.g. a pg Client into its facade). */
export type EventTranslator = (event: string, args: unknown[]) => unknown[]

/**
 * The plugin's listeners for one SDK emitter. One host listener per allowed event is installed when
 * the facade is made, `error` always among them, so an SDK error never goes unhandled on the host:
 * it reaches the plugin's `error` listeners, or the plugin's logs as a warning when it has none.
 */
export class EventRelay {
  private readonly listeners = new Map<string, Listener[]>()

  constructor(
    private readonly label: string,
    emitter: Pick<EventEmitter, 'on'>,
    private readonly events: readonly string[],
    private readonly warn: (message: string) => void,
    private readonly translate: EventTranslator = (_event, args) => args,
  ) {
    for (const event of new Set([...events, 'error'])) emitter.on(event, (...args: unknown[]) => this.emit(event, args))
  }

  add(event: string, callback: Callback, once: boolean): void {
    this.check(event)
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), { callback, once }])
  }

  remove(event: string, callback: Callback): void {
    const list = this.listeners.get(event) ?? []
    const index = list.findIndex((l) => l.callback.fn === callback.fn)
    if (index >= 0) this.listeners.set(event, [...list.slice(0, index), ...list.slice(index + 1)])
  }

  removeAll(event?: string): void {
    if (event === undefined) this.listeners.clear()
    else this.listeners.delete(event)
  }

  /** How many plugin listeners the event has (`listenerCount`, which stream piping asks). */
  count(event: string): number {
    return this.listeners.get(event)?.length ?? 0
  }

  private check(event: string): void {
    if (!this.events.includes(event)) throw new TypeError(`${this.label}: event "${event}" is not available to plugins (one of ${this.events.join(', ')})`)
  }

  private emit(event: string, args: unknown[]): void {
    const list = this.listeners.get(event) ?? []
    if (list.length === 0) {
      if (event === 'error') this.warn(`${this.label} error with no 'error' listener: ${describe(args[0])}`)
      return
    }
    this.listeners.set(
      event,
      list.filter((l) => !l.once),
    )
    let translated: unknown[]
    try {
      translated = this.translate(event, args)
    } catch (error) {
      return this.warn(`${this.label} '${event}' event could not be handed to the plugin: ${describe(error)}`)
    }
    for (const listener of list) listener.callback.call(...translated)
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

/** `on`, `once`, `off`, `addListener`, `removeListener`, `removeAllListeners` for a facade type with a relay; each returns the facade. */
export function eventMethods<T extends object>(relayOf: (target: T) => EventRelay): Record<string, Member<T>> {
  const listen =
    (once: boolean): Member<T> =>
    (target, args, ctx) => {
      relayOf(target).add(args.string(0, 'event'), args.callback(1, 'listener'), once)
      return ctx.self
    }
  const remove: Member<T> = (target, args, ctx) => {
    relayOf(target).remove(args.string(0, 'event'), args.callback(1, 'listener'))
    return ctx.self
  }
  const removeAll: Member<T> = (target, args: Args, ctx) => {
    relayOf(target).removeAll(args.at(0) === undefined ? undefined : args.string(0, 'event'))
    return ctx.self
  }
  return { on: listen(false), addListener: listen(false), once: listen(true), off: remove, removeListener: remove, removeAllListeners: removeAll }
}
