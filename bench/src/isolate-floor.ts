import ivm from 'isolated-vm'

/**
 * The least any stage that runs plugins in isolates and passes events as JSON can do, measured
 * beside the copy floor: one JSON.stringify of the batch on the host, then per plugin one isolate
 * (128 MB, as the plugin VM's default) that gets the batch text, parses it, runs the function over
 * each event and stringifies the batch back, and one JSON.parse on the host at the end. No checks,
 * no per-event results, no limits, no bookkeeping: with 1 plugin it does the copy floor's four JSON
 * operations plus two copies across the boundary, so its ratio to the floor bounds the stage's.
 */
export class IsolateFloor {
  private readonly isolates: ivm.Isolate[] = []
  private readonly runs: ivm.Reference<(batch: string) => string>[] = []

  constructor(plugins: number, pluginSource: (i: number) => string) {
    for (let i = 0; i < plugins; i++) {
      const isolate = new ivm.Isolate({ memoryLimit: 128 })
      const context = isolate.createContextSync()
      context.evalSync(`${pluginSource(i).replace('export function', 'function')}
        globalThis.run = (batch) => { const events = JSON.parse(batch); for (let i = 0; i < events.length; i++) events[i] = processEvent(events[i]); return JSON.stringify(events) }`)
      this.isolates.push(isolate)
      this.runs.push(context.global.getSync('run', { reference: true }) as ivm.Reference<(batch: string) => string>)
    }
  }

  async run(events: readonly object[]): Promise<unknown[]> {
    let text = JSON.stringify(events)
    for (const run of this.runs) text = (await run.apply(undefined, [text], { arguments: { copy: true }, result: { promise: true, copy: true } })) as string
    return JSON.parse(text) as unknown[]
  }

  dispose(): void {
    for (const isolate of this.isolates) isolate.dispose()
  }
}
